// Pre-flight of a VM template: the walk System Center VMM makes before "create VM from template"
// (DESIGN.md "The problem it solves"; known-answers.md §3), run offline, with every check it depends on named:
// boot volume → boot code → the store (readable, clean) → its {default} loader → where that loader's device and
// osdevice land in this image → whether sysprep generalized the store → the Windows installation there → its own
// sysprep state → dangling references → whether partition style, firmware and container agree (Hyper-V
// generation 1: MBR + BIOS; generation 2: GPT + ESP + UEFI, VHDX only). A check that cannot run because an earlier
// one failed is left out rather than reported twice. The result is plain data (what `preflight --json` prints).
import type { BcdObject, BcdStore } from '../bcd/index.js';
import { readBcdStore } from '../bcd/index.js';
import { BootprobeError } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { NtfsFileSystem } from '../fs/ntfs/ntfs.js';
import { ntfsWriteBlockers } from '../fs/ntfs/volume-state.js';
import type { ImageFormat } from '../image/disk-image.js';
import type { BlockDevice } from '../io/index.js';
import { canRunOn } from '../pe/pe-file.js';
import { readPe } from '../pe/pe-read.js';
import {
  type BootCandidate,
  bootSectorType,
  type DiskWalk,
  type Firmware,
  type VolumeProbe,
  walkDisk,
  winPath,
} from './boot-volume.js';
import { readHiveFile } from './hive-file.js';
import {
  ELEMENT_PATH,
  ELEMENT_SYSTEMROOT,
  elementString,
  type Resolution,
  type ResolveContext,
  resolveDevice,
} from './resolve-device.js';
import { inspectWindows, type WindowsInfo } from './windows-info.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface PreflightCheck {
  /** Stable id: boot-volume, boot-code, bcd-store, default-loader, device, osdevice, generalized, references,
   *  windows-files, image-state, firmware, boot-tools. */
  id: string;
  status: CheckStatus;
  /** What was found, naming the structure and the value. */
  message: string;
  /** What to do about a warn or fail; null on pass. */
  fix: string | null;
}

export interface PreflightOptions {
  /** SCVMM customizes the OS (the default): an ungeneralized store is then a fail; false makes it a warn. */
  customization?: boolean;
  /** The container format, for the generation check ('vhd' cannot be generation 2). */
  format?: ImageFormat | null;
  /** Check the boot tools the image carries against this Windows (pe.md §2); null: report what they need. */
  target?: { version: string; arch: 'x86' | 'x64' | 'arm64'; label: string } | null;
}

export interface PreflightDefault {
  id: string;
  description: string | null;
  path: string | null;
  device: string | null;
  osdevice: string | null;
}

export interface PreflightReport {
  verdict: 'pass' | 'fail';
  checks: PreflightCheck[];
  bootVolume: { partition: number; bcdPath: string } | null;
  windowsVolume: { partition: number } | null;
  /** Whether the store's {default} loader uses the locate= devices sysprep /generalize writes; null without one. */
  generalized: boolean | null;
  firmware: Firmware | null;
  /** Hyper-V generation the layout implies (1 BIOS/MBR, 2 UEFI/GPT); null when it implies none. */
  generation: 1 | 2 | null;
  /** The disk walked; null when a store file was checked on its own. */
  disk: {
    scheme: string;
    signature: string | null;
    guid: string | null;
    mbrBootCode: string | null;
    volumes: {
      partition: number;
      start: number;
      size: number;
      type: string;
      active: boolean;
      filesystem: string | null;
      label: string | null;
      bootSectorType: string;
      windows: boolean;
      bcd: string | null;
    }[];
  } | null;
  candidates: BootCandidate[];
  store: {
    partition: number | null;
    path: string;
    objects: number;
    recovered: boolean;
    default: PreflightDefault | null;
  } | null;
  windows: (Omit<WindowsInfo, 'warnings'> & { partition: number; warnings: string[] }) | null;
  /** The walk in the shape of SCVMM's debug trace (known-answers.md §3). */
  trace: string[];
}

const GENERALIZE_FIX =
  'run sysprep /generalize /oobe /shutdown in the VM, or `bootprobe repair --generalize`';

/** Runs every check on `disk` (a virtual disk, already opened). Throws only when the disk itself is unreadable. */
export async function preflight(disk: BlockDevice, options: PreflightOptions = {}): Promise<PreflightReport> {
  const customization = options.customization !== false;
  const checks: PreflightCheck[] = [];
  const trace: string[] = [];
  const check = (id: string, status: CheckStatus, message: string, fix: string | null = null) =>
    checks.push({ id, status, message, fix: status === 'pass' ? null : fix });

  const walk = await walkDisk(disk);
  traceDisk(walk, trace);
  const firmware = walk.firmware;
  const report: PreflightReport = {
    verdict: 'pass',
    checks,
    bootVolume: walk.boot
      ? { partition: walk.boot.probe.volume.index, bcdPath: winPath(walk.boot.bcdPath) }
      : null,
    windowsVolume: null,
    generalized: null,
    firmware: walk.boot?.firmware ?? firmware,
    generation: firmware === 'uefi' ? 2 : firmware === 'bios' ? 1 : null,
    disk: {
      scheme: walk.table.scheme,
      signature: walk.table.diskSignature,
      guid: walk.table.diskGuid,
      mbrBootCode: walk.mbrCode?.kind ?? null,
      volumes: walk.volumes.map((p) => ({
        partition: p.volume.index,
        start: p.volume.start,
        size: p.volume.size,
        type: p.volume.type,
        active: p.volume.active,
        filesystem: p.volume.filesystem,
        label: p.label,
        bootSectorType: bootSectorType(p.volume.bootCode),
        windows: p.windows,
        bcd: p.bcd ? winPath(p.bcd.path) : null,
      })),
    },
    candidates: walk.candidates,
    store: null,
    windows: null,
    trace,
  };

  // 1. Boot volume.
  const boot = walk.boot;
  let storeAt: { probe: VolumeProbe; bcdPath: string } | null = boot
    ? { probe: boot.probe, bcdPath: boot.bcdPath }
    : null;
  if (boot) {
    trace.push(`FindBootVol partition ${boot.probe.volume.index}, found boot drive candidate`);
    check(
      'boot-volume',
      'pass',
      `partition ${boot.probe.volume.index} (${boot.firmware === 'uefi' ? 'EFI system partition' : 'active'}) holds ${winPath(boot.bcdPath)}`,
    );
  } else {
    trace.push('FindBootVol: no boot drive candidate');
    const { message, fix } = noBootVolume(walk);
    check('boot-volume', 'fail', message, fix);
    trace.push(`BootOrSystemVolumeNotFoundException: ${message}`);
    storeAt = walk.strayStore;
  }

  // 2. Boot code (BIOS) or boot manager files (UEFI).
  if (boot) checkBootCode(walk, boot.probe, boot.firmware, check, trace);

  // 3. The store.
  let store: BcdStore | null = null;
  if (storeAt?.probe.fs) {
    const where = `${winPath(storeAt.bcdPath)} on partition ${storeAt.probe.volume.index}`;
    try {
      // The walk already looked the store up (VolumeProbe.bcd): its entry is the file to read.
      const entry = storeAt.probe.bcd ?? (await storeAt.probe.fs.lookup(storeAt.bcdPath));
      const file = await readHiveFile(storeAt.probe.fs, entry);
      const hive = file.hive;
      if (!hive.getKey('\\Objects'))
        throw new BootprobeError('BCD_INVALID', `${where} is a registry hive without an \\Objects key`);
      store = readBcdStore(hive.root);
      const dirty = hive.warnings.find((w) => w.code === 'HIVE_DIRTY');
      if (hive.recovered)
        check(
          'bcd-store',
          'warn',
          `${where} is dirty (base block sequence numbers differ); ${file.logsFound.join(', ')} replayed in memory`,
          'SCVMM copies the store without its logs and would read the stale data: `bootprobe repair` writes it back clean, or boot the VM once',
        );
      else if (dirty)
        check(
          'bcd-store',
          'fail',
          `${where}: ${dirty.message}`,
          'restore the store with its .LOG files, or rebuild it (bcdboot C:\\Windows)',
        );
      else check('bcd-store', 'pass', `${where} is a clean store of ${store.objects.length} objects`);
      report.store = {
        partition: storeAt.probe.volume.index,
        path: winPath(storeAt.bcdPath),
        objects: store.objects.length,
        recovered: hive.recovered,
        default: null,
      };
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      check(
        'bcd-store',
        'fail',
        `${where} cannot be read: ${e.message}`,
        'rebuild the store (bcdboot C:\\Windows /s S:) or restore it from a good template',
      );
      store = null;
    }
  }

  // 4–7. The {default} loader, its devices, generalization, the Windows volume.
  let windowsProbe: VolumeProbe | null = null;
  let systemRoot: string | null = null;
  if (store && storeAt && report.store) {
    const loader = defaultLoader(store, check);
    if (loader) {
      const path = elementString(loader, ELEMENT_PATH);
      systemRoot = elementString(loader, ELEMENT_SYSTEMROOT);
      report.store.default = {
        id: loader.id,
        description: elementString(loader, 0x12000004),
        path,
        device: deviceText(loader, 0x11000001),
        osdevice: deviceText(loader, 0x21000001),
      };
      trace.push(
        `${firmware === 'uefi' ? 'Bootmgfw' : 'Bootmgr'} boot loader: {default} ${loader.id} "${report.store.default.description ?? ''}"`,
      );
      const ctx = resolveContext(walk, boot?.probe ?? null);
      const dev = await resolveElement(loader, 0x11000001, ctx);
      const os = await resolveElement(loader, 0x21000001, ctx);
      trace.push(`bootDevice ${dev?.volume ? `partition ${dev.volume.volume.index}` : 'UnknownDevice'}`);
      checkDevice('device', dev, check);
      windowsProbe = await checkOsDevice(os, systemRoot, ctx, check);
      trace.push(
        windowsProbe
          ? `MountedVhd windows volume partition ${windowsProbe.volume.index}`
          : 'MountedVhd windows volume not found',
      );
      report.generalized = checkGeneralized(
        loader,
        store,
        `${winPath(storeAt.bcdPath)} on partition ${storeAt.probe.volume.index}`,
        customization,
        check,
      );
      checkLoaderFirmware(path, boot?.firmware ?? firmware, options.format ?? null, walk, check);
    }
    checkReferences(store, check);
  }
  // Without a partition table the boot-volume check has said it all.
  if (walk.table.scheme !== 'none' && !report.checks.some((c) => c.id === 'firmware'))
    checkLayout(walk, options.format ?? null, check);

  // 8. Windows.
  if (windowsProbe?.fs) {
    report.windowsVolume = { partition: windowsProbe.volume.index };
    const info = await inspectWindows(windowsProbe.fs, systemRoot ?? '\\Windows', boot?.firmware ?? firmware);
    report.windows = {
      ...info,
      partition: windowsProbe.volume.index,
      warnings: info.warnings.map((w) => w.message),
    };
    checkWindowsFiles(info, windowsProbe, check);
    checkImageState(info, check);
  }

  // 9. The state of the boot and Windows volumes: a dirty, journal-pending or hibernated NTFS volume.
  await checkVolumeState([boot?.probe ?? null, windowsProbe], check);

  // 10. Boot tools the image carries (known-answers.md §4).
  await checkBootTools(walk, options.target ?? null, check);

  report.verdict = checks.some((c) => c.status === 'fail') ? 'fail' : 'pass';
  trace.push(`verdict ${report.verdict}`);
  return report;
}

export interface StoreFile {
  store: BcdStore;
  /** What to call it in messages: the file name. */
  name: string;
  /** True when its logs were replayed; false when clean. */
  recovered: boolean;
  /** The HIVE_DIRTY finding when it is dirty and could not be recovered. */
  dirty: string | null;
}

/**
 * The store-only part of pre-flight, for a BCD file given on its own (no image: nothing to resolve devices against):
 * readable and clean, default loader, generalized, references. Same report shape; the image fields are null.
 */
export function preflightStore(file: StoreFile, options: PreflightOptions = {}): PreflightReport {
  const checks: PreflightCheck[] = [];
  const check: Check = (id, status, message, fix = null) =>
    checks.push({ id, status, message, fix: status === 'pass' ? null : fix });
  const { store, name } = file;
  if (file.recovered)
    check(
      'bcd-store',
      'warn',
      `${name} is dirty; its logs were replayed in memory`,
      'write it back clean (`bootprobe repair`)',
    );
  else if (file.dirty)
    check('bcd-store', 'fail', `${name}: ${file.dirty}`, 'restore the store with its .LOG files');
  else check('bcd-store', 'pass', `${name} is a clean store of ${store.objects.length} objects`);
  const loader = defaultLoader(store, check);
  let generalized: boolean | null = null;
  let def: PreflightDefault | null = null;
  if (loader) {
    generalized = checkGeneralized(loader, store, name, options.customization !== false, check);
    def = {
      id: loader.id,
      description: elementString(loader, 0x12000004),
      path: elementString(loader, ELEMENT_PATH),
      device: deviceText(loader, 0x11000001),
      osdevice: deviceText(loader, 0x21000001),
    };
  }
  checkReferences(store, check);
  const verdict = checks.some((c) => c.status === 'fail') ? 'fail' : 'pass';
  return {
    verdict,
    checks,
    bootVolume: null,
    windowsVolume: null,
    generalized,
    firmware: null,
    generation: null,
    disk: null,
    candidates: [],
    store: {
      partition: null,
      path: name,
      objects: store.objects.length,
      recovered: file.recovered,
      default: def,
    },
    windows: null,
    trace: [`store ${name}: verdict ${verdict}`],
  };
}

type Check = (id: string, status: CheckStatus, message: string, fix?: string | null) => void;

function traceDisk(walk: DiskWalk, trace: string[]): void {
  const t = walk.table;
  const id =
    t.scheme === 'gpt'
      ? `guid=${t.diskGuid ?? '?'}`
      : `signature=${(t.diskSignature ?? '0x0').replace(/^0x/, '')}`;
  trace.push(`DISK: 0, ${id} #partitions ${walk.volumes.length}`);
  walk.volumes.forEach((p, i) => {
    const v = p.volume;
    trace.push(` PARTITION: 0.${i} Bootable=${v.active || p.esp ? 'True' : 'False'}, #LDs ${p.fs ? 1 : 0}`);
    if (!p.fs) return;
    const isBoot = walk.boot?.probe === p;
    trace.push(
      `  LOGICALDRIVE: partition ${v.index}${p.label ? ` "${p.label}"` : ''} ${v.filesystem?.toUpperCase() ?? ''}, WindowsDrive=${p.windows ? 'True' : 'False'}, IsBoot=${isBoot ? 'True' : 'False'}, BootSectorType=${bootSectorType(v.bootCode)}, FullSize=${v.size}, [${v.start}-${v.start + v.size}]`,
    );
  });
}

function noBootVolume(walk: DiskWalk): { message: string; fix: string } {
  const scvmm = 'SCVMM fails with error 13206 "cannot locate the boot or system volume"';
  if (walk.table.scheme === 'none')
    return {
      message: `the disk has no partition table (a bare ${walk.volumes[0]?.volume.filesystem ?? 'unrecognised'} volume): no firmware boots it; ${scvmm}`,
      fix: 'use a template disk partitioned by Windows Setup (MBR with an active partition, or GPT with an EFI system partition)',
    };
  if (walk.table.scheme === 'gpt') {
    const esp = walk.candidates.filter((c) => c.role === 'EFI system partition');
    if (esp.length === 0)
      return {
        message: `GPT disk without an EFI system partition: UEFI firmware has nothing to start; ${scvmm}`,
        fix: 'create an ESP and run `bcdboot C:\\Windows /s S: /f UEFI` from Windows or WinPE',
      };
    return {
      message: `no EFI system partition holds \\EFI\\Microsoft\\Boot\\BCD (${esp.map((c) => `partition ${c.partition}: ${c.reason}`).join('; ')}); ${scvmm}`,
      fix: 'run `bcdboot C:\\Windows /s S: /f UEFI`, or `bootprobe repair --transplant DONOR` with a good template',
    };
  }
  const active = walk.candidates.filter((c) => c.role === 'active partition');
  const stray = walk.strayStore;
  if (active.length === 0)
    return {
      message: stray
        ? `no active partition; ${winPath(stray.bcdPath)} is on partition ${stray.probe.volume.index}, which BIOS will not start; ${scvmm}`
        : `no active partition and no volume holds \\Boot\\BCD: this looks like a data disk, not a bootable template; ${scvmm}`,
      fix: stray
        ? `mark partition ${stray.probe.volume.index} active (diskpart: select partition, active)`
        : "choose the template's system disk, or make this one bootable with `bcdboot C:\\Windows /s C:`",
    };
  return {
    message: `the active partition ${active.map((c) => `${c.partition}: ${c.reason}`).join('; ')}; ${scvmm}`,
    fix: 'run `bcdboot C:\\Windows /s S:` to write bootmgr and \\Boot\\BCD, or `bootprobe repair --transplant DONOR`',
  };
}

function checkBootCode(
  walk: DiskWalk,
  probe: VolumeProbe,
  fw: Firmware,
  check: Check,
  trace: string[],
): void {
  if (fw === 'uefi') {
    if (!probe.bootmgfw) {
      check(
        'boot-code',
        'fail',
        `the EFI system partition (partition ${probe.volume.index}) has no \\EFI\\Microsoft\\Boot\\bootmgfw.efi`,
        'run `bcdboot C:\\Windows /s S: /f UEFI` to copy the boot manager',
      );
      return;
    }
    trace.push('Bootmgfw boot loader');
    check('boot-code', 'pass', `partition ${probe.volume.index} holds \\EFI\\Microsoft\\Boot\\bootmgfw.efi`);
    return;
  }
  const mbr = walk.mbrCode;
  const vbr = probe.volume.bootCode;
  const type = bootSectorType(vbr);
  trace.push(`${type} boot loader`);
  if (vbr?.loader === 'ntldr') {
    check(
      'boot-code',
      'fail',
      `partition ${probe.volume.index}'s boot record loads NTLDR (Windows XP/2003), which cannot read a BCD store`,
      'run `bootsect /nt60 SYS /mbr` from Windows 7 or later media',
    );
    return;
  }
  const mbrOk = mbr?.kind.startsWith('windows') === true;
  const vbrOk = vbr?.loader === 'bootmgr';
  const problems: string[] = [];
  if (!mbrOk) problems.push(`the MBR holds ${mbr ? mbr.description : 'no sector 0'}`);
  if (!vbrOk)
    problems.push(`partition ${probe.volume.index}'s boot record is ${vbr ? vbr.description : 'unreadable'}`);
  if (!probe.bootmgr) problems.push(`partition ${probe.volume.index} has no \\bootmgr`);
  if (problems.length === 0) {
    check(
      'boot-code',
      'pass',
      `${mbr!.description}; partition ${probe.volume.index}: ${vbr!.description} and \\bootmgr`,
    );
    return;
  }
  // SCVMM deploys without looking at boot code; the VM then does not start. A warn, with that consequence named.
  check(
    'boot-code',
    'warn',
    `${problems.join('; ')}: a generation 1 VM will not start from this disk as it is (SCVMM's deployment does not check this)`,
    'run `bootsect /nt60 SYS /mbr` and `bcdboot C:\\Windows /s S:` from Windows or WinPE',
  );
}

function defaultLoader(store: BcdStore, check: Check): BcdObject | null {
  const bootmgr = store.object('{bootmgr}');
  if (!bootmgr) {
    check(
      'default-loader',
      'fail',
      'the store has no {bootmgr} object',
      'rebuild the store with `bcdboot C:\\Windows`',
    );
    return null;
  }
  if (!store.defaultId) {
    check(
      'default-loader',
      'fail',
      '{bootmgr} has no default element',
      'bcdedit /default {guid of the Windows loader}',
    );
    return null;
  }
  const loader = store.object(store.defaultId);
  if (!loader) {
    check(
      'default-loader',
      'fail',
      `{bootmgr} default names ${store.defaultId}, which is not in the store`,
      'bcdedit /default {guid of the Windows loader}, or rebuild the store with `bcdboot C:\\Windows`',
    );
    return null;
  }
  if ((loader.type & 0xfffff) !== 3 || loader.type >>> 28 !== 1) {
    check(
      'default-loader',
      'fail',
      `{default} ${loader.id} is a "${loader.typeName}" object, not a Windows Boot Loader`,
      'bcdedit /default {guid of the Windows loader}',
    );
    return null;
  }
  const desc = elementString(loader, 0x12000004);
  const path = elementString(loader, ELEMENT_PATH);
  if (!path) {
    check(
      'default-loader',
      'fail',
      `{default} ${loader.id} "${desc ?? ''}" has no path element`,
      'bcdedit /set {default} path \\Windows\\system32\\winload.exe',
    );
    return loader;
  }
  check('default-loader', 'pass', `{default} is ${loader.id} "${desc ?? ''}", path ${path}`);
  return loader;
}

function deviceText(o: BcdObject, type: number): string | null {
  const el = o.element(type);
  if (!el || el.value.format !== 'device') return null;
  const d = el.value.device.descriptor;
  return d.kind;
}

function resolveContext(walk: DiskWalk, boot: VolumeProbe | null): ResolveContext {
  return {
    table: walk.table,
    volumes: walk.volumes,
    boot,
    exists: async (v, path) => {
      if (!v.fs) return false;
      try {
        await v.fs.lookup(path);
        return true;
      } catch (e) {
        if (e instanceof BootprobeError) return false;
        throw e;
      }
    },
  };
}

async function resolveElement(o: BcdObject, type: number, ctx: ResolveContext): Promise<Resolution | null> {
  const el = o.element(type);
  if (!el || el.value.format !== 'device') return null;
  return resolveDevice(el.value.device.descriptor, o, ctx);
}

const RETARGET_FIX =
  '`bootprobe repair --retarget` points it at this disk, or `bootprobe repair --generalize` makes it locate= (what sysprep /generalize writes)';

function checkDevice(id: string, r: Resolution | null, check: Check): VolumeProbe | null {
  if (!r) {
    check(id, 'fail', `{default} has no ${id} element`, RETARGET_FIX);
    return null;
  }
  if (!r.volume) {
    check(
      id,
      'fail',
      `{default} ${id} does not resolve in this image: ${r.detail} (SCVMM: bootDevice UnknownDevice, error 13206)`,
      RETARGET_FIX,
    );
    return null;
  }
  check(id, 'pass', `{default} ${id}: ${r.detail}`);
  return r.volume;
}

/** The osdevice must also hold the systemroot's System32, else winload has no Windows to load. */
async function checkOsDevice(
  r: Resolution | null,
  systemRoot: string | null,
  ctx: ResolveContext,
  check: Check,
): Promise<VolumeProbe | null> {
  if (!r?.volume) return checkDevice('osdevice', r, check);
  const root = (systemRoot ?? '\\Windows').replace(/\\+$/, '');
  if (!(await ctx.exists(r.volume, `${root}\\System32`))) {
    check(
      'osdevice',
      'fail',
      `{default} osdevice resolves to partition ${r.volume.volume.index}, which has no ${root}\\System32 (systemroot ${systemRoot ?? 'absent'}): MountedVhd windows volume not found`,
      'point osdevice at the Windows volume (`bootprobe repair --retarget`) or fix systemroot (bcdedit /set {default} systemroot \\Windows)',
    );
    return null;
  }
  return checkDevice('osdevice', r, check);
}

function checkGeneralized(
  loader: BcdObject,
  store: BcdStore,
  where: string,
  customization: boolean,
  check: Check,
): boolean {
  const named: string[] = [];
  for (const [type, name] of [
    [0x11000001, 'device'],
    [0x21000001, 'osdevice'],
  ] as const) {
    const el = loader.element(type);
    if (!el || el.value.format !== 'device') continue;
    const d = el.value.device.descriptor;
    if (d.kind === 'ramdisk') {
      check(
        'generalized',
        'fail',
        `${where}: {default} ${name} is ramdisk=[…]${d.path}: boot media (Windows Setup or WinPE), not an installed Windows; there is nothing to generalize or customize`,
        "pre-flight the template's system disk, not boot media",
      );
      return false;
    }
    if (d.kind !== 'locate') named.push(`{default} ${name} is ${describeForm(d)}`);
  }
  const resume = loader.element(0x23000003);
  if (resume?.value.format === 'object') {
    const r = store.object(resume.value.id);
    const el = r?.element(0x11000001);
    if (el?.value.format === 'device' && el.value.device.descriptor.kind === 'partition')
      named.push(`resume object ${r!.id} device is ${describeForm(el.value.device.descriptor)}`);
  }
  if (named.length === 0) {
    check('generalized', 'pass', `${where} is generalized: {default} device and osdevice are locate=`);
    return true;
  }
  check(
    'generalized',
    customization ? 'fail' : 'warn',
    `${where} is not generalized: ${named.join('; ')}${customization ? '; SCVMM customization (the default) needs a generalized template' : '; accepted because OS customization is not wanted'}`,
    GENERALIZE_FIX,
  );
  return false;
}

function describeForm(d: import('../bcd/index.js').BcdDeviceDescriptor): string {
  if (d.kind === 'partition') {
    if (d.diskSignature !== null)
      return `partition= (disk signature 0x${d.diskSignature.toString(16).padStart(8, '0')}, offset ${d.partitionOffset})`;
    if (d.diskGuid !== null) return `partition= (GPT disk ${d.diskGuid}, partition ${d.partitionGuid})`;
    return 'partition=';
  }
  return d.kind === 'boot' ? 'boot (not what sysprep /generalize writes)' : `${d.kind}=`;
}

function checkLoaderFirmware(
  path: string | null,
  fw: Firmware | null,
  format: ImageFormat | null,
  walk: DiskWalk,
  check: Check,
): void {
  if (path && fw) {
    const efi = /\.efi$/i.test(path);
    if (fw === 'uefi' && !efi) {
      check(
        'firmware',
        'fail',
        `GPT/UEFI disk, but {default} path is ${path} (the BIOS loader)`,
        'bcdedit /set {default} path \\Windows\\system32\\winload.efi',
      );
      return;
    }
    if (fw === 'bios' && efi) {
      check(
        'firmware',
        'fail',
        `MBR/BIOS disk, but {default} path is ${path} (the UEFI loader)`,
        'bcdedit /set {default} path \\Windows\\system32\\winload.exe',
      );
      return;
    }
  }
  checkLayout(walk, format, check);
}

function checkLayout(walk: DiskWalk, format: ImageFormat | null, check: Check): void {
  const fmt = format ? format.toUpperCase() : 'image';
  if (walk.table.scheme === 'gpt') {
    if (format === 'vhd') {
      check(
        'firmware',
        'fail',
        'GPT/UEFI layout in a VHD: Hyper-V generation 2 VMs boot only from VHDX',
        'convert the disk to VHDX (Convert-VHD, or `bootprobe convert IMAGE OUT.vhdx`)',
      );
      return;
    }
    check('firmware', 'pass', `GPT with an EFI system partition in a ${fmt}: a generation 2 (UEFI) VM`);
    return;
  }
  if (walk.table.scheme === 'mbr') {
    const twoTiB = 2 ** 41;
    const end = Math.max(0, ...walk.volumes.map((v) => v.volume.start + v.volume.size));
    if (end > twoTiB) {
      check(
        'firmware',
        'fail',
        `MBR partitions reach past 2 TiB (${end} bytes): MBR cannot address them`,
        'use GPT (generation 2) for disks over 2 TiB',
      );
      return;
    }
    check('firmware', 'pass', `MBR in a ${fmt}: a generation 1 (BIOS) VM`);
    return;
  }
  check(
    'firmware',
    'fail',
    'no partition table: neither a generation 1 nor a generation 2 VM can boot it',
    'partition the disk with Windows Setup or diskpart',
  );
}

/** Every GUID reference (object / object list elements) that names an object the store lacks. */
function checkReferences(store: BcdStore, check: Check): void {
  const missing: string[] = [];
  for (const o of store.objects) {
    for (const el of o.elements) {
      const ids =
        el.value.format === 'object' ? [el.value.id] : el.value.format === 'objectList' ? el.value.ids : [];
      for (const id of ids) {
        if (!/^\{[0-9a-f-]{36}\}$/i.test(id)) continue;
        if (!store.object(id)) missing.push(`${o.alias ?? o.id} ${el.name} → ${id}`);
      }
    }
  }
  if (missing.length === 0) {
    check('references', 'pass', `every object reference in the store names an object it holds`);
    return;
  }
  check(
    'references',
    'warn',
    `${missing.length} reference${missing.length > 1 ? 's' : ''} to objects the store does not hold: ${missing.slice(0, 5).join('; ')}${missing.length > 5 ? '; …' : ''}`,
    'delete the dangling element (e.g. bcdedit /deletevalue {default} resumeobject) or recreate the object',
  );
}

function checkWindowsFiles(info: WindowsInfo, v: VolumeProbe, check: Check): void {
  const missing = info.files.filter((f) => !f.present).map((f) => f.path);
  const what = [
    info.productName,
    info.editionId,
    info.currentBuild ? `build ${info.currentBuild}${info.ubr !== null ? `.${info.ubr}` : ''}` : null,
    info.architecture,
  ]
    .filter(Boolean)
    .join(', ');
  if (missing.length > 0) {
    check(
      'windows-files',
      'fail',
      `partition ${v.volume.index} lacks ${missing.join(', ')}: Windows cannot start from it`,
      'the template is incomplete or damaged: rebuild it, or copy the files back from the same Windows build',
    );
    return;
  }
  check(
    'windows-files',
    'pass',
    `partition ${v.volume.index}: ${info.systemRoot}${what ? ` (${what})` : ''} with its loader, kernel and hives`,
  );
}

function checkImageState(info: WindowsInfo, check: Check): void {
  const state = info.imageState ?? info.imageStateRegistry;
  const src = info.imageState !== null ? 'State.ini' : 'SOFTWARE Setup\\State';
  if (info.generalized) {
    check('image-state', 'pass', `Windows is generalized: ${src} ImageState ${state}`);
    return;
  }
  check(
    'image-state',
    'warn',
    state
      ? `Windows itself is not generalized: ${src} ImageState ${state}; a deployment keeps this machine's identity (SID, name)`
      : `no ImageState found (${info.systemRoot}\\Setup\\State\\State.ini absent): the Windows sysprep state is unknown`,
    'sysprep /generalize /oobe /shutdown in the VM is the way to a clean machine identity; repairing the store alone does not change this',
  );
}

/**
 * ntfs.md §7 on the boot and Windows volumes: marked dirty (chkdsk at next boot), $LogFile not clean (Windows was
 * cut off or kept Fast Startup state), Windows hibernated (hiberfil.sys "hibr"). VMM deploys such a template, but the
 * new VM resumes a stale session or runs chkdsk first, and `repair` refuses to write the volume: a warning naming it.
 */
async function checkVolumeState(probes: (VolumeProbe | null)[], check: Check): Promise<void> {
  const seen = new Set<VolumeProbe>();
  const found: string[] = [];
  let hint: string | null = null;
  for (const p of probes) {
    if (!p || seen.has(p) || !(p.fs instanceof NtfsFileSystem)) continue;
    seen.add(p);
    try {
      for (const b of await ntfsWriteBlockers(p.fs)) {
        found.push(`partition ${p.volume.index}: ${b.message}`);
        hint ??= b.hint ?? null;
      }
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      found.push(`partition ${p.volume.index}: ${e.message}`);
    }
  }
  if (seen.size === 0) return;
  if (found.length === 0) {
    check(
      'volume-state',
      'pass',
      `NTFS volume${seen.size > 1 ? 's' : ''} ${[...seen].map((p) => p.volume.index).join(' and ')} clean: not dirty, journal checkpointed, not hibernated`,
    );
    return;
  }
  check(
    'volume-state',
    'warn',
    `${found.join('; ')}; \`bootprobe repair\` refuses to write such a volume`,
    hint,
  );
}

/** bootsect.exe copies boot media carry (known-answers.md §4): which Windows they run on. */
const BOOT_TOOLS = [
  '/Boot/bootsect.exe',
  '/bootsect.exe',
  '/SMS/bin/i386/bootsect.exe',
  '/SMS/bin/x64/bootsect.exe',
  '/Windows/System32/bootsect.exe',
];

async function checkBootTools(
  walk: DiskWalk,
  t: PreflightOptions['target'] | null,
  check: Check,
): Promise<void> {
  const found: { v: VolumeProbe; fs: FileSystem; entry: FsEntry }[] = [];
  for (const v of walk.volumes) {
    if (!v.fs) continue;
    for (const path of BOOT_TOOLS) {
      try {
        const e = await v.fs.lookup(path);
        if (!e.isDirectory) found.push({ v, fs: v.fs, entry: e });
      } catch (e) {
        if (!(e instanceof BootprobeError)) throw e;
      }
    }
  }
  if (found.length === 0) return;
  const notes: string[] = [];
  let failed = false;
  for (const f of found) {
    const where = `${winPath(f.entry.path)} on partition ${f.v.volume.index}`;
    try {
      const pe = await readPe(await f.fs.openFile(f.entry));
      if (t) {
        const verdict = canRunOn(pe, t.version, t.arch);
        if (!verdict.ok) {
          failed = true;
          notes.push(
            `${where} cannot run on ${t.label}: ${verdict.reasons.join('; ')} (CreateProcess fails with ${verdict.error})`,
          );
          continue;
        }
        notes.push(`${where} runs on ${t.label}`);
      } else notes.push(`${where}: ${pe.machineName}, needs NT ${pe.subsystemVersion} or later`);
    } catch (e) {
      if (!(e instanceof BootprobeError)) throw e;
      failed = true;
      notes.push(`${where}: ${e.message}`);
    }
  }
  check(
    'boot-tools',
    failed ? 'fail' : 'pass',
    notes.join('; '),
    'use the boot tools of a Windows PE that supports the target (WinPE 3.1 for Windows XP, known-answers.md §4)',
  );
}
