// $LogFile (record 2) restart pages: is the journal clean, so that a write made now will not be undone or damaged by
// Windows replaying it? Layout and procedure: docs/ntfs.md §7.2 (ntfs-3g logfile.h / logfile.c:
// ntfs_check_logfile, ntfs_check_restart_page_header, ntfs_check_restart_area, ntfs_is_logfile_clean).
import { BootprobeError } from '../../errors.js';
import { ByteView } from '../../io/index.js';
import { applyFixups } from './record.js';

/** §7.2: the pages searched are 512-byte blocks (NTFS_BLOCK_SIZE); a restart page is one system page. */
const BLOCK = 512;
/** ntfs-3g MaxLogFileSize: only the first 4 GiB are searched. */
const MAX_LOGFILE_SEARCH = 0x100000000;
/** ntfs-3g: at least two restart pages plus 48 log record pages of 4 KiB (DefaultLogPageSize, MinLogRecordPages). */
const MIN_LOGFILE_SIZE = 4096 * 2 + 48 * 4096;
/** Largest system page size we read whole: 64 KiB (Windows uses 4 KiB; larger would be a lying header). */
const MAX_SYSTEM_PAGE = 65536;
/** RESTART_PAGE_HEADER is 0x1E bytes; the update sequence array follows it. */
const RESTART_PAGE_HEADER_SIZE = 0x1e;
/** LOG_CLIENT_RECORD is 0xA0 bytes. */
const LOG_CLIENT_RECORD_SIZE = 0xa0;
/** §2 well-known records: $LogFile is record 2. */
export const LOG_FILE_RECORD = 2;
export const LOGFILE_NO_CLIENT = 0xffff;
export const RESTART_VOLUME_IS_CLEAN = 0x0002;

const EMPTY_MAGIC = 0xffffffff;
const magicOf = (s: string) =>
  s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);
const RSTR = magicOf('RSTR') >>> 0;
const CHKD = magicOf('CHKD') >>> 0;
const RCRD = magicOf('RCRD') >>> 0;

export interface RestartPage {
  magic: 'RSTR' | 'CHKD';
  /** Byte position inside $LogFile (0 or the system page size). */
  position: number;
  systemPageSize: number;
  logPageSize: number;
  majorVersion: number;
  minorVersion: number;
  /** RSTR: the restart area's current LSN; CHKD: the chkdsk LSN (§7.2 step 4: the larger is the more recent). */
  lsn: bigint;
  /** Restart area +0x0C: 0xFFFF = no client has the log open. */
  clientInUseList: number;
  /** Restart area +0x0E: 0x0002 = the volume was shut down cleanly. */
  flags: number;
}

export type LogFileVerdict =
  | 'empty' // no restart page and the first block is all 0xFF: mkntfs / ntfs-3g emptied it (clean)
  | 'clean' // restart area says no client in use, or flagged clean
  | 'unclean' // a client has it open and it is not flagged clean: Windows will replay it
  | 'version-2' // log version 2.0: Windows 8+ kept metadata cached (Fast Startup) or was cut off
  | 'no-restart-page' // not empty, yet no valid restart page: cannot say, so not clean
  | 'too-small'; // smaller than any log Windows or mkntfs makes

export interface LogFileState {
  verdict: LogFileVerdict;
  /** The restart page that decided, when one was found. */
  page: RestartPage | null;
}

export const isLogFileClean = (s: LogFileState): boolean => s.verdict === 'empty' || s.verdict === 'clean';

/**
 * Checks a restart page's header and restart area (ntfs-3g's consistency rules, §7.2 steps 2-3) from its first block,
 * and returns the system page size to read whole, or null when the page is not a usable restart page.
 */
function checkRestartHeader(v: ByteView, pos: number, magic: number): number | null {
  const sys = v.u32le(0x10);
  const logp = v.u32le(0x14);
  const pow2 = (n: number) => n >= BLOCK && (n & (n - 1)) === 0;
  if (!pow2(sys) || !pow2(logp) || sys > MAX_SYSTEM_PAGE) return null;
  // The first restart page is at 0, the second exactly one system page further.
  if (pos !== 0 && pos !== sys) return null;
  const minor = v.u16le(0x1a);
  const major = v.u16le(0x1c);
  if (!((major === 1 && minor === 1) || (major === 2 && minor === 0))) return null;
  const usaCount = v.u16le(6);
  const haveUsa = !(magic === CHKD && usaCount === 0);
  let usaEnd = 0;
  if (haveUsa) {
    const usaOfs = v.u16le(4);
    usaEnd = usaOfs + 2 * usaCount;
    if (usaCount !== 1 + sys / BLOCK || usaOfs < RESTART_PAGE_HEADER_SIZE || usaEnd > BLOCK - 2) return null;
  }
  const ra = v.u16le(0x18);
  if (ra % 8 || ra < (haveUsa ? usaEnd : RESTART_PAGE_HEADER_SIZE) || ra > sys) return null;
  if (magic === RSTR && v.u64le(0x08) !== 0n) return null; // only chkdsk may set the chkdsk LSN
  // Restart area: everything up to the client array lies in the first block, before its protected last word.
  if (ra + 0x18 > BLOCK - 2) return null;
  const ca = v.u16le(ra + 0x16);
  if (ca % 8 || ra + ca > BLOCK - 2) return null;
  const clients = v.u16le(ra + 0x08);
  const raLenField = v.u16le(ra + 0x14);
  const raLen = ca + clients * LOG_CLIENT_RECORD_SIZE;
  if (ra + raLen > sys || ra + raLenField > sys || raLen > raLenField) return null;
  const free = v.u16le(ra + 0x0a);
  const inUse = v.u16le(ra + 0x0c);
  if ((free !== LOGFILE_NO_CLIENT && free >= clients) || (inUse !== LOGFILE_NO_CLIENT && inUse >= clients))
    return null;
  // ra+0x10 seq_number_bits must match the file size it describes (67 - bits of ra+0x18).
  let fileSize = v.u64le(ra + 0x18);
  let bits = 0;
  while (fileSize > 0n) {
    fileSize >>= 1n;
    bits++;
  }
  if (v.u32le(ra + 0x10) !== 67 - bits) return null;
  if (v.u16le(ra + 0x24) % 8 || v.u16le(ra + 0x26) % 8) return null;
  return sys;
}

/** Both client lists of a whole, fixed-up restart page must stay inside the array and not loop (ntfs-3g). */
function checkClientArray(v: ByteView): boolean {
  const ra = v.u16le(0x18);
  const ca = ra + v.u16le(ra + 0x16);
  const clients = v.u16le(ra + 0x08);
  for (const head of [v.u16le(ra + 0x0a), v.u16le(ra + 0x0c)]) {
    let left = clients;
    let first = true;
    // Each step consumes one of `clients` records: a loop ends there.
    for (let idx = head; idx !== LOGFILE_NO_CLIENT; ) {
      if (left === 0 || idx >= clients) return false;
      const rec = ca + idx * LOG_CLIENT_RECORD_SIZE;
      if (first && v.u16le(rec + 0x10) !== LOGFILE_NO_CLIENT) return false;
      first = false;
      left--;
      idx = v.u16le(rec + 0x12);
    }
  }
  return true;
}

async function loadRestartPage(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
  pos: number,
  first: ByteView,
  magic: number,
): Promise<RestartPage | null> {
  const sys = checkRestartHeader(first, pos, magic);
  if (sys === null || pos + sys > size) return null;
  const buf = new Uint8Array(await read(pos, sys)); // a copy: fixups are applied in place
  const ra = first.u16le(0x18);
  if (!(magic === CHKD && first.u16le(6) === 0)) {
    try {
      applyFixups(buf, magic === RSTR ? 'RSTR' : 'CHKD', pos);
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      // A torn page matters only when the restart area reaches past the first block's protected word.
      if (ra + first.u16le(ra + 0x14) > BLOCK - 2) return null;
      buf.set(first.bytes.subarray(0, BLOCK));
    }
  }
  const v = new ByteView(buf, pos, '$LogFile restart page');
  const inUse = v.u16le(ra + 0x0c);
  if (magic === RSTR && inUse !== LOGFILE_NO_CLIENT && !checkClientArray(v)) return null;
  return {
    magic: magic === RSTR ? 'RSTR' : 'CHKD',
    position: pos,
    systemPageSize: sys,
    logPageSize: v.u32le(0x14),
    majorVersion: v.u16le(0x1c),
    minorVersion: v.u16le(0x1a),
    lsn: magic === RSTR ? v.i64le(ra) : v.i64le(0x08),
    clientInUseList: inUse,
    flags: v.u16le(ra + 0x0e),
  };
}

/**
 * Decides whether $LogFile is clean (§7.2), given a reader over its data and its data size. Probes the blocks at 0,
 * 512, 1024, 2048... for restart pages as ntfs-3g does, takes the more recent of the two, and judges its restart area.
 */
export async function checkLogFile(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  dataSize: number,
): Promise<LogFileState> {
  const size = Math.floor(Math.min(dataSize, MAX_LOGFILE_SEARCH) / 4096) * 4096;
  if (size < MIN_LOGFILE_SIZE) return { verdict: 'too-small', page: null };
  let empty = true;
  let first: RestartPage | null = null;
  let second: RestartPage | null = null;
  // pos doubles from 512: at most 23 probes below 4 GiB.
  for (let pos = 0; pos < size; pos = pos === 0 ? BLOCK : pos * 2) {
    const block = new ByteView(new Uint8Array(await read(pos, BLOCK)), pos, '$LogFile');
    const magic = block.u32le(0);
    if (magic !== EMPTY_MAGIC) empty = false;
    else if (!empty) break;
    if (magic === RCRD) break; // a log record page: no restart page after it
    if (magic !== RSTR && magic !== CHKD) continue;
    const page = await loadRestartPage(read, size, pos, block, magic);
    if (!page) continue;
    if (!first) {
      first = page;
      if (pos === 0) continue;
    } else second = page;
    break;
  }
  if (empty) return { verdict: 'empty', page: null };
  if (!first) return { verdict: 'no-restart-page', page: null };
  const page = second && second.lsn > first.lsn ? second : first;
  if (page.majorVersion === 2) return { verdict: 'version-2', page };
  const clean = page.clientInUseList === LOGFILE_NO_CLIENT || (page.flags & RESTART_VOLUME_IS_CLEAN) !== 0;
  return { verdict: clean ? 'clean' : 'unclean', page };
}
