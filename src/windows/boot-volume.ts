// The boot-volume finder: the walk System Center VMM makes over a mounted template before it deploys it
// (known-answers.md §3: DISK / PARTITION / LOGICALDRIVE lines, then FindBootVol, then the boot loader type).
// BIOS disks (MBR): the boot volume is the active partition holding bootmgr and \Boot\BCD; it may be the Windows
// volume itself (one-partition templates). UEFI disks (GPT): the EFI system partition holding
// \EFI\Microsoft\Boot\BCD and bootmgfw.efi (bcd.md §1, boot-sectors.md §5). Every volume is probed once for what
// the later checks need (its boot files, whether it holds \Windows\System32), and each candidate says why it was
// taken or passed over.
import { BootprobeError } from '../errors.js';
import type { FileSystem, FsEntry } from '../fs/file-system.js';
import { openFileSystem } from '../fs/open-fs.js';
import type { BlockDevice } from '../io/index.js';
import type { MbrCode, VbrCode } from '../volume/boot-code.js';
import type { PartitionTable } from '../volume/partition.js';
import { isExtendedContainer, partitionDevice } from '../volume/partition-table.js';
import { describeVolumes, type VolumeSummary } from '../volume/volumes.js';
import { BIOS_STORE, ESP_TYPE, UEFI_STORE } from './find-bcd.js';

export const BOOTMGR_PATH = '/bootmgr';
export const BOOTMGFW_PATH = '/EFI/Microsoft/Boot/bootmgfw.efi';
/** The removable-media fallback loader UEFI firmware starts when no boot entry exists (UEFI spec 3.5.1). */
export const FALLBACK_LOADER_PATH = '/EFI/Boot/bootx64.efi';
export const SYSTEM32_PATH = '/Windows/System32';

export type Firmware = 'bios' | 'uefi';

/** One volume of the disk and what it holds, probed once. */
export interface VolumeProbe {
  volume: VolumeSummary;
  /** The opened file system, null when there is none we read (or it failed to open: `fsError`). */
  fs: FileSystem | null;
  fsError: string | null;
  label: string | null;
  esp: boolean;
  bootmgr: boolean;
  /** The store this volume holds, as Windows Boot Manager would look for it here; null when none. */
  bcd: FsEntry | null;
  bootmgfw: boolean;
  /** \Windows\System32 is a directory here: SCVMM's WindowsDrive. */
  windows: boolean;
}

export interface BootCandidate {
  partition: number;
  /** 'EFI system partition', 'active partition', 'volume' (a disk without a partition table). */
  role: string;
  taken: boolean;
  reason: string;
}

export interface BootVolume {
  probe: VolumeProbe;
  bcdPath: string;
  firmware: Firmware;
}

export interface DiskWalk {
  table: PartitionTable;
  mbrCode: MbrCode | null;
  volumes: VolumeProbe[];
  /** What the partition style implies: GPT is booted by UEFI, MBR by BIOS (Hyper-V generation 2 / 1). */
  firmware: Firmware | null;
  candidates: BootCandidate[];
  /** The volume the firmware would start Windows Boot Manager from, or null. */
  boot: BootVolume | null;
  /** A store found elsewhere when no boot volume qualified (a data partition holding \Boot\BCD, not active). */
  strayStore: { probe: VolumeProbe; bcdPath: string } | null;
}

const exists = async (fs: FileSystem, path: string, dir: boolean): Promise<FsEntry | null> => {
  try {
    const e = await fs.lookup(path);
    return e.isDirectory === dir ? e : null;
  } catch (e) {
    if (e instanceof BootprobeError) return null;
    throw e;
  }
};

async function probeVolume(disk: BlockDevice, volume: VolumeSummary): Promise<VolumeProbe> {
  const esp = volume.type === ESP_TYPE || volume.type === '0xef';
  const probe: VolumeProbe = {
    volume,
    fs: null,
    fsError: null,
    label: null,
    esp,
    bootmgr: false,
    bcd: null,
    bootmgfw: false,
    windows: false,
  };
  if (isExtendedContainer(volume)) return probe;
  if (volume.filesystem === null) {
    probe.fsError = 'no file system recognised';
    return probe;
  }
  try {
    probe.fs = await openFileSystem(partitionDevice(disk, volume), `partition ${volume.index}`);
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    probe.fsError = e.message;
    return probe;
  }
  const fs = probe.fs;
  probe.label = fs.label;
  probe.bootmgr = (await exists(fs, BOOTMGR_PATH, false)) !== null;
  probe.bcd =
    (await exists(fs, esp ? UEFI_STORE : BIOS_STORE, false)) ??
    (await exists(fs, esp ? BIOS_STORE : UEFI_STORE, false));
  probe.bootmgfw = (await exists(fs, BOOTMGFW_PATH, false)) !== null;
  probe.windows = (await exists(fs, SYSTEM32_PATH, true)) !== null;
  return probe;
}

/** `\Boot\BCD` as Windows writes it, from a FsEntry path. */
export const winPath = (p: string): string => p.replace(/\//g, '\\');

/** Walks the disk as SCVMM does and picks the boot volume (see the file comment). */
export async function walkDisk(disk: BlockDevice): Promise<DiskWalk> {
  const described = await describeVolumes(disk);
  const { table, mbrCode } = described;
  const volumes: VolumeProbe[] = [];
  for (const v of described.volumes) volumes.push(await probeVolume(disk, v));
  const firmware: Firmware | null = table.scheme === 'gpt' ? 'uefi' : table.scheme === 'mbr' ? 'bios' : null;
  const candidates: BootCandidate[] = [];
  let boot: BootVolume | null = null;
  const take = (probe: VolumeProbe, role: string, fw: Firmware) => {
    const why = (reason: string, taken = false) =>
      candidates.push({ partition: probe.volume.index, role, taken, reason });
    if (!probe.fs) return why(`no readable file system (${probe.fsError ?? 'none'})`);
    const store = probe.bcd;
    const wanted = fw === 'uefi' ? UEFI_STORE : BIOS_STORE;
    if (!store || store.path.toLowerCase() !== wanted.toLowerCase()) return why(`no ${winPath(wanted)}`);
    if (boot)
      return why(`holds ${winPath(wanted)}, but partition ${boot.probe.volume.index} was taken first`);
    const loader =
      fw === 'uefi' ? (probe.bootmgfw ? 'bootmgfw.efi' : null) : probe.bootmgr ? 'bootmgr' : null;
    boot = { probe, bcdPath: store.path, firmware: fw };
    why(
      loader
        ? `holds ${loader} and ${winPath(wanted)}`
        : `holds ${winPath(wanted)} but no ${fw === 'uefi' ? winPath(BOOTMGFW_PATH) : 'bootmgr'}`,
      true,
    );
  };
  if (table.scheme === 'gpt') {
    for (const p of volumes) if (p.esp) take(p, 'EFI system partition', 'uefi');
  } else if (table.scheme === 'mbr') {
    for (const p of volumes) if (p.volume.active) take(p, 'active partition', 'bios');
    for (const p of volumes) {
      if (p.volume.active || !p.bcd) continue;
      candidates.push({
        partition: p.volume.index,
        role: 'volume',
        taken: false,
        reason: `holds ${winPath(p.bcd.path)} but is not the active partition: BIOS starts only the active one`,
      });
    }
  } else {
    for (const p of volumes) {
      candidates.push({
        partition: p.volume.index,
        role: 'volume',
        taken: false,
        reason: 'the disk has no partition table: firmware cannot boot a bare volume',
      });
    }
  }
  let strayStore: DiskWalk['strayStore'] = null;
  if (!boot) {
    const stray = volumes.find((p) => p.bcd !== null);
    if (stray?.bcd) strayStore = { probe: stray, bcdPath: stray.bcd.path };
  }
  return { table, mbrCode, volumes, firmware, candidates, boot, strayStore };
}

/** SCVMM's BootSectorType for a volume boot record (known-answers.md §3: "BootSectorType=Bootmgr"). */
export function bootSectorType(code: VbrCode | null): string {
  if (!code) return 'None';
  switch (code.loader) {
    case 'bootmgr':
      return 'Bootmgr';
    case 'ntldr':
      return 'Ntldr';
    case 'none':
      return 'None';
    default:
      return 'Unknown';
  }
}
