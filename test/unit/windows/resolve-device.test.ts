// Device resolution against an image (bcd.md §7; issue 5): each device form lands on the volume Windows Boot Manager
// would use, or says why it cannot — checked here on synthetic disks, for the forms the fixtures do not all carry
// (GPT partition devices, a partition= naming the other partition style, a locate= without its element, ramdisk=).
import { describe, expect, it } from 'vitest';
import {
  type BcdDeviceDescriptor,
  type BcdObject,
  bootDevice,
  gptPartitionDevice,
  locateDevice,
  mbrPartitionDevice,
} from '../../../src/bcd/index.js';
import type { FileSystem } from '../../../src/fs/file-system.js';
import type { Partition, PartitionTable } from '../../../src/volume/partition.js';
import type { VolumeProbe } from '../../../src/windows/boot-volume.js';
import { matchPartition, type ResolveContext, resolveDevice } from '../../../src/windows/resolve-device.js';

const part = (index: number, start: number, guid: string | null = null): Partition => ({
  index,
  start,
  size: 100 * 1024 * 1024,
  type: guid ? 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7' : '0x07',
  typeName: 'test',
  active: index === 1,
  guid,
  name: null,
  kind: guid ? 'gpt' : 'primary',
  attributes: null,
  entryOffset: null,
});

/** A probe whose file system holds `files` (lower-case, backslash paths). */
const probe = (p: Partition, files: string[] = []): VolumeProbe => ({
  volume: { ...p, filesystem: 'ntfs', bootCode: null },
  fs: { files } as unknown as FileSystem,
  fsError: null,
  label: null,
  esp: false,
  bootmgr: false,
  bcd: null,
  bootmgfw: false,
  windows: files.includes('\\windows\\system32'),
});

const mbrTable = (parts: Partition[]): PartitionTable => ({
  scheme: 'mbr',
  sectorSize: 512,
  diskSignature: '0xa9083c0a',
  diskGuid: null,
  partitions: parts,
  warnings: [],
});
const gptTable = (parts: Partition[]): PartitionTable => ({
  scheme: 'gpt',
  sectorSize: 512,
  diskSignature: null,
  diskGuid: '8d6a5c39-6b2a-4f4e-9c7e-0a4c3b2d1e0f',
  partitions: parts,
  warnings: [],
});

function ctx(table: PartitionTable, volumes: VolumeProbe[], boot: VolumeProbe | null = null): ResolveContext {
  return {
    table,
    volumes,
    boot,
    exists: async (v, p) => ((v.fs as unknown as { files: string[] }).files ?? []).includes(p.toLowerCase()),
  };
}

/** A loader object with the given string elements (path 0x12000002, systemroot 0x22000002). */
function loader(strings: Record<number, string>): BcdObject {
  return {
    id: '{b520e13b-48da-11e2-9a8b-00155d011700}',
    alias: '{default}',
    type: 0x10200003,
    typeName: 'Windows Boot Loader',
    elements: [],
    firmwareVariable: null,
    element: (type: number) =>
      type in strings
        ? ({ type, value: { format: 'string', text: strings[type]! }, regType: 1 } as unknown as ReturnType<
            BcdObject['element']
          >)
        : null,
  };
}

const d = (x: { descriptor: BcdDeviceDescriptor }) => x.descriptor;

describe('partition= (bcd.md §7.3)', () => {
  const p1 = part(1, 1048576);
  const p2 = part(2, 105906176);
  const vols = [probe(p1), probe(p2)];

  it('MBR: signature and byte offset name partition 2', () => {
    const m = matchPartition(
      d(mbrPartitionDevice(0xa9083c0a, 105906176n)) as never,
      mbrTable([p1, p2]),
      vols,
    );
    expect(m.volume?.volume.index).toBe(2);
  });

  it('MBR: another disk signature is named beside this disk’s', () => {
    const m = matchPartition(d(mbrPartitionDevice(0x12345678, 1048576n)) as never, mbrTable([p1, p2]), vols);
    expect(m.volume).toBeNull();
    expect(m.detail).toBe(
      "partition= names disk signature 0x12345678 (offset 1048576), this disk's signature is 0xa9083c0a",
    );
  });

  it('MBR: the right disk but no partition at that offset', () => {
    const m = matchPartition(d(mbrPartitionDevice(0xa9083c0a, 2097152n)) as never, mbrTable([p1, p2]), vols);
    expect(m.volume).toBeNull();
    expect(m.detail).toContain('no partition starts at offset 2097152');
  });

  it('GPT: disk GUID and partition GUID name the partition, in any case', () => {
    const g1 = part(1, 1048576, '3e1a6b7c-1111-4a2b-8c3d-4e5f60718293');
    const g3 = part(3, 37748736, '9f8e7d6c-3333-4b5a-8c9d-0e1f2a3b4c5d');
    const dev = gptPartitionDevice(
      '{8D6A5C39-6B2A-4F4E-9C7E-0A4C3B2D1E0F}',
      '{9F8E7D6C-3333-4B5A-8C9D-0E1F2A3B4C5D}',
    );
    const m = matchPartition(d(dev) as never, gptTable([g1, g3]), [probe(g1), probe(g3)]);
    expect(m.volume?.volume.index).toBe(3);
  });

  it('GPT: another disk GUID does not resolve', () => {
    const g1 = part(1, 1048576, '3e1a6b7c-1111-4a2b-8c3d-4e5f60718293');
    const dev = gptPartitionDevice(
      '{01760d41-fc92-420a-83d5-af4c02154361}',
      '{3e1a6b7c-1111-4a2b-8c3d-4e5f60718293}',
    );
    const m = matchPartition(d(dev) as never, gptTable([g1]), [probe(g1)]);
    expect(m.volume).toBeNull();
    expect(m.detail).toContain('names GPT disk {01760d41-fc92-420a-83d5-af4c02154361}');
  });

  it('a GPT device on an MBR disk (and the reverse) names the mismatch', () => {
    const gdev = gptPartitionDevice(
      '{8d6a5c39-6b2a-4f4e-9c7e-0a4c3b2d1e0f}',
      '{3e1a6b7c-1111-4a2b-8c3d-4e5f60718293}',
    );
    expect(matchPartition(d(gdev) as never, mbrTable([p1]), vols).detail).toContain('this image is MBR');
    const g1 = part(1, 1048576, '3e1a6b7c-1111-4a2b-8c3d-4e5f60718293');
    expect(
      matchPartition(d(mbrPartitionDevice(1, 1048576n)) as never, gptTable([g1]), [probe(g1)]).detail,
    ).toContain('this image is GPT');
  });
});

describe('locate=, boot, ramdisk= (bcd.md §7.4–§7.6)', () => {
  const p1 = part(1, 1048576);
  const p2 = part(2, 105906176);
  const sys = probe(p1, ['\\bootmgr', '\\boot\\boot.sdi']);
  const win = probe(p2, ['\\windows', '\\windows\\system32', '\\windows\\system32\\winload.exe']);

  it('locate= finds the volume holding the path its element names (device → path, osdevice → systemroot)', async () => {
    const o = loader({ 301989890: '\\Windows\\system32\\winload.exe', 570425346: '\\Windows' });
    const c = ctx(mbrTable([p1, p2]), [sys, win], sys);
    expect((await resolveDevice(d(locateDevice(0x12000002)), o, c)).volume).toBe(win);
    const os = await resolveDevice(d(locateDevice(0x22000002)), o, c);
    expect(os).toMatchObject({ form: 'locate', detail: 'locate=\\Windows: found on partition 2' });
  });

  it('locate= without the element it refers to does not resolve, and says which', async () => {
    const r = await resolveDevice(
      d(locateDevice(0x12000002)),
      loader({}),
      ctx(mbrTable([p1, p2]), [sys, win], sys),
    );
    expect(r.volume).toBeNull();
    expect(r.detail).toBe('locate= refers to element 0x12000002, which {default} does not have');
  });

  it('locate= of a path no volume holds', async () => {
    const o = loader({ 570425346: '\\WINNT' });
    const r = await resolveDevice(d(locateDevice(0x22000002)), o, ctx(mbrTable([p1, p2]), [sys, win], sys));
    expect(r.detail).toBe('locate=\\WINNT: no volume of this image holds it');
  });

  it('boot is the boot volume, and nothing without one', async () => {
    expect(
      (await resolveDevice(d(bootDevice()), loader({}), ctx(mbrTable([p1, p2]), [sys, win], sys))).volume,
    ).toBe(sys);
    expect(
      (await resolveDevice(d(bootDevice()), loader({}), ctx(mbrTable([p1, p2]), [sys, win], null))).volume,
    ).toBeNull();
  });

  it('ramdisk=[boot]\\boot\\boot.sdi goes through its parent and needs the file there', async () => {
    const ramdisk = (path: string) =>
      ({
        kind: 'ramdisk',
        deviceType: 0,
        flags: 1,
        reserved: 0,
        version: 1,
        pathType: 5,
        parent: d(bootDevice()),
        path,
        pathTerminated: true,
        pathExtra: new Uint8Array(0),
        imageBase: 0n,
        imageSize: 0n,
        imageOffset: 0,
        rest: new Uint8Array(0),
      }) as BcdDeviceDescriptor;
    const c = ctx(mbrTable([p1, p2]), [sys, win], sys);
    expect((await resolveDevice(ramdisk('\\boot\\boot.sdi'), loader({}), c)).volume).toBe(sys);
    const missing = await resolveDevice(ramdisk('\\sources\\boot.wim'), loader({}), c);
    expect(missing.volume).toBeNull();
    expect(missing.detail).toBe('ramdisk=\\sources\\boot.wim: no such file on partition 1');
  });
});
