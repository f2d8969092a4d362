// May this NTFS volume be written? The three refusals of docs/ntfs.md §7 (dirty flag, $LogFile not clean, Windows
// hibernated), each an error of kind 'unsafe' (exit 4) with a sentence saying why and what to do.
import { BootprobeError, hex } from '../../errors.js';
import { ATTR } from './attribute.js';
import { checkLogFile, LOG_FILE_RECORD, type LogFileState } from './logfile.js';
import type { NtfsFileSystem } from './ntfs.js';

/** §7.3: ntfs-3g reads this much of hiberfil.sys; a shorter file is a hibernated non-system partition. */
export const HIBERFILE_HEADER_SIZE = 4096;
/** §7.3 signatures: hibernated ("hibr"/"HIBR"), resume started ("wake"/"WAKE", refused too: [I]). */
const HIBERNATED_SIGNATURES = ['hibr', 'HIBR', 'wake', 'WAKE'];

const SHUTDOWN_HINT =
  'start Windows from this disk and shut it down fully (Shift+Shut down, or powercfg /h off; not hibernate or Fast Startup), then repair again';

/** §7.2 on the volume's own $LogFile. */
export async function logFileState(fs: NtfsFileSystem): Promise<LogFileState> {
  const s = await fs.stream(LOG_FILE_RECORD, ATTR.DATA, '');
  if (!s)
    throw new BootprobeError('NTFS_RECORD', '$LogFile (record 2) has no $DATA', {
      structure: 'ntfs.logfile',
      hint: 'the volume is damaged; run chkdsk',
    });
  const r = fs.reader(s, '$LogFile');
  return checkLogFile((o, l) => r.read(o, l), s.dataSize);
}

/** §7.3: the first 4 bytes of \hiberfil.sys and why they block a write, or null when there is nothing to fear. */
export async function hibernationState(
  fs: NtfsFileSystem,
): Promise<{ signature: string; reason: string } | null> {
  let entry: Awaited<ReturnType<NtfsFileSystem['lookup']>>;
  try {
    entry = await fs.lookup('/hiberfil.sys');
  } catch (e) {
    if (e instanceof BootprobeError && e.code === 'PATH_NOT_FOUND') return null;
    throw e;
  }
  if (entry.isDirectory) return null;
  if (entry.size < HIBERFILE_HEADER_SIZE)
    return {
      signature: '',
      reason: `\\hiberfil.sys is only ${entry.size} bytes: a hibernated non-system partition (ntfs-3g refuses it too)`,
    };
  const head = await (await fs.openFile(entry)).read(0, 4);
  const signature = String.fromCharCode(...head);
  if (HIBERNATED_SIGNATURES.includes(signature))
    return {
      signature,
      reason:
        signature.toLowerCase() === 'hibr'
          ? `\\hiberfil.sys starts "${signature}": Windows is hibernated (or shut down with Fast Startup) and will restore its cached view of this volume over any change`
          : `\\hiberfil.sys starts "${signature}": a resume from hibernation was started and may be offered again`,
    };
  return null;
}

/** Every reason the volume must not be written now, in the order §7 lists them (empty = writable). */
export async function ntfsWriteBlockers(fs: NtfsFileSystem): Promise<BootprobeError[]> {
  const out: BootprobeError[] = [];
  const vi = fs.volumeInfo;
  if (vi?.dirty)
    out.push(
      new BootprobeError(
        'NTFS_DIRTY',
        `NTFS volume is marked dirty ($VOLUME_INFORMATION flags ${hex(vi.flags)}): Windows will run chkdsk on it at its next boot, which may undo or damage a change made now`,
        {
          kind: 'unsafe',
          structure: 'ntfs.volume_information',
          hint: `run chkdsk /f on it in Windows, or ${SHUTDOWN_HINT}`,
        },
      ),
    );
  const log = await logFileState(fs);
  if (log.verdict !== 'empty' && log.verdict !== 'clean') {
    const p = log.page;
    const why: Record<string, string> = {
      unclean: `its restart area (${p?.magic} at +${hex(p?.position ?? 0)}) has client ${p?.clientInUseList} in use and is not flagged clean (flags ${hex(p?.flags ?? 0)}): Windows was not shut down cleanly and will replay the journal over any change made now`,
      'version-2':
        'it is a version 2.0 log: Windows 8 or later kept metadata cached (Fast Startup) or was cut off',
      'no-restart-page': 'it holds data but no valid restart page, so its state cannot be known',
      'too-small': 'it is smaller than any journal Windows makes',
    };
    out.push(
      new BootprobeError('NTFS_LOG_NOT_CLEAN', `NTFS $LogFile is not clean: ${why[log.verdict]}`, {
        structure: 'ntfs.logfile',
        data: { verdict: log.verdict },
        hint: SHUTDOWN_HINT,
      }),
    );
  }
  const hib = await hibernationState(fs);
  if (hib)
    out.push(
      new BootprobeError('NTFS_HIBERNATED', `Windows on this NTFS volume is hibernated: ${hib.reason}`, {
        structure: 'ntfs.hiberfil',
        data: { signature: hib.signature },
        hint: SHUTDOWN_HINT,
      }),
    );
  return out;
}

/** Throws the first reason the volume must not be written (§9 precondition 1). */
export async function assertNtfsWritable(fs: NtfsFileSystem): Promise<void> {
  const [first] = await ntfsWriteBlockers(fs);
  if (first) throw first;
}
