// What the Windows installation on a volume is and whether it was generalized: the files a boot needs under
// \Windows\System32, the product from SOFTWARE\Microsoft\Windows NT\CurrentVersion, the architecture and build from
// the kernel's PE header (pe.md §1, §3), and the sysprep state from the two places Windows Setup keeps it
// (Microsoft's "Windows Setup States": %WINDIR%\Setup\State\State.ini [State] ImageState, and
// SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State ImageState) plus SYSTEM\Setup, which sysprep /generalize
// leaves set for the next boot's setup pass (SystemSetupInProgress, SetupType, CmdLine, OOBEInProgress).
// The hives are read cell by cell (hive-file.ts), so inspecting a 127 GB template reads kilobytes of them.
import { BootprobeError, type Finding } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { REG, type RegistryValue } from '../hive/key.js';
import type { LazyHive } from '../hive/lazy-hive.js';
import { decodeUtf16 } from '../io/byte-view.js';
import { readPe } from '../pe/pe-read.js';
import { readSmallFile } from './find-bcd.js';
import { openHiveFile } from './hive-file.js';

export interface WindowsFile {
  path: string;
  present: boolean;
}

export interface SetupKey {
  systemSetupInProgress: number | null;
  setupType: number | null;
  oobeInProgress: number | null;
  cmdLine: string | null;
}

export interface WindowsInfo {
  /** '\Windows' as the BCD's systemroot spells it. */
  systemRoot: string;
  files: WindowsFile[];
  productName: string | null;
  editionId: string | null;
  installationType: string | null;
  /** "10.0" from CurrentMajorVersionNumber/CurrentMinorVersionNumber, else CurrentVersion ("6.3"). */
  version: string | null;
  currentBuild: string | null;
  ubr: number | null;
  displayVersion: string | null;
  /** From the kernel's machine type: 'x64', 'x86', 'arm64'; null when the kernel was not read. */
  architecture: string | null;
  kernelVersion: string | null;
  /** State.ini [State] ImageState, and the registry copy. */
  imageState: string | null;
  imageStateRegistry: string | null;
  setup: SetupKey | null;
  /** True when the State.ini or registry ImageState says the generalize pass ran; null when neither is readable. */
  generalized: boolean | null;
  warnings: Finding[];
}

const ARCH: Record<number, string> = { 34404: 'x64', 332: 'x86', 43620: 'arm64', 452: 'arm' };

/** Image states after the generalize pass (Windows Setup States). */
const GENERALIZED_STATES = new Set([
  'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE',
  'IMAGE_STATE_GENERALIZE_RESEAL_TO_AUDIT',
]);
export const isGeneralizedState = (s: string | null): boolean | null =>
  s === null ? null : GENERALIZED_STATES.has(s.toUpperCase());

const lookup = async (fs: FileSystem, path: string): Promise<FsEntry | null> => {
  try {
    return await fs.lookup(path);
  } catch (e) {
    if (e instanceof BootprobeError && (e.code === 'PATH_NOT_FOUND' || e.code === 'NOT_A_DIRECTORY'))
      return null;
    throw e;
  }
};

const text = (v: RegistryValue | null): string | null =>
  v && (v.type === REG.SZ || v.type === REG.EXPAND_SZ) ? decodeUtf16(v.data, true, true) : null;
const dword = (v: RegistryValue | null): number | null =>
  v && v.data.length >= 4 ? new DataView(v.data.buffer, v.data.byteOffset, 4).getUint32(0, true) : null;

/** [State] ImageState from State.ini (UTF-16 with BOM or 8-bit, as Setup writes either). */
export function parseStateIni(bytes: Uint8Array): string | null {
  const t =
    bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe
      ? decodeUtf16(bytes.subarray(2), true)
      : String.fromCharCode(...bytes.subarray(0, 65536));
  let section = '';
  for (const raw of t.split(/\r?\n/)) {
    const line = raw.trim();
    const s = /^\[(.*)\]$/.exec(line);
    if (s) section = s[1]!.trim().toLowerCase();
    else if (section === 'state') {
      const kv = /^ImageState\s*=\s*(.*)$/i.exec(line);
      if (kv) return kv[1]!.trim();
    }
  }
  return null;
}

/** Inspects the Windows installation at `systemRoot` ('\Windows') on `fs`. Damaged hives become warnings. */
export async function inspectWindows(
  fs: FileSystem,
  systemRoot: string,
  firmware: 'bios' | 'uefi' | null,
): Promise<WindowsInfo> {
  const root = systemRoot.replace(/\\+$/, '').replace(/\\/g, '/') || '/Windows';
  const warnings: Finding[] = [];
  const warn = (code: Finding['code'], message: string) => warnings.push({ code, message });
  const sys32 = `${root}/System32`;
  const winload = firmware === 'uefi' ? 'winload.efi' : 'winload.exe';
  const wanted = [
    `${sys32}/${winload}`,
    `${sys32}/ntoskrnl.exe`,
    `${sys32}/config/SYSTEM`,
    `${sys32}/config/SOFTWARE`,
  ];
  const files: WindowsFile[] = [];
  const entries = new Map<string, FsEntry>();
  for (const path of wanted) {
    const e = await lookup(fs, path);
    files.push({ path: path.replace(/\//g, '\\'), present: e !== null && !e.isDirectory });
    if (e && !e.isDirectory) entries.set(path, e);
  }
  const info: WindowsInfo = {
    systemRoot: root.replace(/\//g, '\\'),
    files,
    productName: null,
    editionId: null,
    installationType: null,
    version: null,
    currentBuild: null,
    ubr: null,
    displayVersion: null,
    architecture: null,
    kernelVersion: null,
    imageState: null,
    imageStateRegistry: null,
    setup: null,
    generalized: null,
    warnings,
  };

  const kernel = entries.get(`${sys32}/ntoskrnl.exe`);
  if (kernel) {
    try {
      const pe = await readPe(await fs.openFile(kernel));
      info.architecture = ARCH[pe.machine] ?? pe.machineName;
      info.kernelVersion = pe.fileVersion;
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      warn(e.code, `\\${kernel.path.slice(1).replace(/\//g, '\\')}: ${e.message}`);
    }
  }

  const hive = async (name: string): Promise<LazyHive | null> => {
    const e = entries.get(`${sys32}/config/${name}`);
    if (!e) return null;
    try {
      const opened = await openHiveFile(fs, e);
      warnings.push(...opened.warnings);
      return opened.hive;
    } catch (err) {
      if (!(err instanceof BootprobeError)) throw err;
      warn(err.code, `${name} hive: ${err.message}`);
      return null;
    }
  };
  const guard = async (name: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      if (!(err instanceof BootprobeError)) throw err;
      warn(err.code, `${name} hive: ${err.message}`);
    }
  };

  const software = await hive('SOFTWARE');
  if (software) {
    await guard('SOFTWARE', async () => {
      const cv = await software.getKey('\\Microsoft\\Windows NT\\CurrentVersion');
      if (cv) {
        info.productName = text(await cv.value('ProductName'));
        info.editionId = text(await cv.value('EditionID'));
        info.installationType = text(await cv.value('InstallationType'));
        info.currentBuild =
          text(await cv.value('CurrentBuild')) ?? text(await cv.value('CurrentBuildNumber'));
        info.ubr = dword(await cv.value('UBR'));
        info.displayVersion = text(await cv.value('DisplayVersion')) ?? text(await cv.value('ReleaseId'));
        const major = dword(await cv.value('CurrentMajorVersionNumber'));
        const minor = dword(await cv.value('CurrentMinorVersionNumber'));
        info.version = major !== null ? `${major}.${minor ?? 0}` : text(await cv.value('CurrentVersion'));
      }
      const st = await software.getKey('\\Microsoft\\Windows\\CurrentVersion\\Setup\\State');
      if (st) info.imageStateRegistry = text(await st.value('ImageState'));
    });
  }

  const system = await hive('SYSTEM');
  if (system) {
    await guard('SYSTEM', async () => {
      const setup = await system.getKey('\\Setup');
      if (setup) {
        info.setup = {
          systemSetupInProgress: dword(await setup.value('SystemSetupInProgress')),
          setupType: dword(await setup.value('SetupType')),
          oobeInProgress: dword(await setup.value('OOBEInProgress')),
          cmdLine: text(await setup.value('CmdLine')),
        };
      }
    });
  }

  const ini = await lookup(fs, `${root}/Setup/State/State.ini`);
  if (ini && !ini.isDirectory) {
    try {
      info.imageState = parseStateIni(await readSmallFile(fs, ini, 1024 * 1024));
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      warn(e.code, `State.ini: ${e.message}`);
    }
  }
  info.generalized = isGeneralizedState(info.imageState ?? info.imageStateRegistry);
  return info;
}
