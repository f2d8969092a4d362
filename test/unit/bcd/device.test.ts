import { describe, expect, it } from 'vitest';
import {
  type BcdDevice,
  bootDevice,
  type DeviceDisplayContext,
  decodeBcdDevice,
  encodeBcdDevice,
  formatBcdDevice,
  gptPartitionDevice,
  locateDevice,
  MAX_DEVICE_DEPTH,
  mbrPartitionDevice,
} from '../../../src/bcd/index.js';
import { BootprobeError } from '../../../src/errors.js';
import { toHex } from '../../../src/io/index.js';

const fromHex = (h: string): Uint8Array => new Uint8Array(h.match(/../g)!.map((x) => Number.parseInt(x, 16)));
const u32 = (n: number): string => toHex(new Uint8Array(new Uint32Array([n]).buffer));
const utf16z = (s: string): string =>
  toHex(new Uint8Array(new Uint16Array([...s].map((c) => c.charCodeAt(0)).concat(0)).buffer));
const ZERO16 = '00'.repeat(16);

// Element values copied from the corpus .hivex.reg exports (named per line).
const CORPUS = {
  // windeploy-bios resume `device`: MBR signature 0xddba6bbb, offset 1 MiB.
  mbrPartition:
    '0000000000000000000000000000000006000000000000004800000000000000000010000000000000000000000000000000000001000000bb6bbadd00000000000000000000000000000000000000000000000000000000',
  // bluepill {bootmgr} `device`: GPT.
  gptPartition:
    '00000000000000000000000000000000060000000000000048000000000000002bb6789ab8986b4cb8f5213da47f429000000000000000004df79621055e6a42a7c7d2f8eefafbd600000000000000000000000000000000',
  // windeploy-uefi-locate loader `osdevice`: locate, element 0x22000002, no parent, empty path.
  locate: '0000000000000000000000000000000008000000000000001e000000000000000000000002000022000000000000',
  // msmedia-bios setup loader `device`: ramdisk=[boot]\sources\boot.wim,{7619dcc8-…}.
  ramdiskBoot:
    'c8dc1976fefad911b411000476eba25f0000000001000000a0000000000000000300000000000000000000000000000000000000000000000100000078000000050000000500000000000000480000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005c0073006f00750072006300650073005c0062006f006f0074002e00770069006d000000',
  // win10pe: the same with ImageSize 0x8c and ImageOffset 5 (bcd.md §7.6: preserve, don't assert zero).
  ramdiskWin10pe:
    'c8dc1976fefad911b411000476eba25f0000000001000000a0000000000000000300000000000000000000008c00000000000000050000000100000078000000050000000500000000000000480000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005c0073006f00750072006300650073005c0062006f006f0074002e00770069006d000000',
  // bluepill WinRE loader `device`: ramdisk on a GPT partition.
  ramdiskPartition:
    '05aa038c17deec11b2fa9f69513e91ec0000000001000000b80000000000000003000000000000000000000000000000000000000000000001000000900000000500000006000000000000004800000000000000fd54bdd722c917458df99edf0719b9d100000000000000004df79621055e6a42a7c7d2f8eefafbd6000000000000000000000000000000005c005200650063006f0076006500720079005c00570069006e0064006f0077007300520045005c00570069006e00720065002e00770069006d000000',
  // windeploy-bios {bootmgr} `device`: boot.
  boot: `${ZERO16}05000000000000004800000000000000${'00'.repeat(56)}`,
};

// Forms not in the corpus, built from the layouts of bcd.md §7.6 (file, [I]) and §7.7 (vhd, [C] layout).
const hostPartition = `06000000000000004800000000000000${'0000100000000000'}${'00'.repeat(8)}0000000001000000${'0a3c08a9'}${'00'.repeat(12)}${ZERO16}`;
function fileDescriptor(parentHex: string, path: string): string {
  const p = utf16z(path);
  const length = 12 + parentHex.length / 2 + p.length / 2;
  const payload = `${u32(5)}${u32(1)}${u32(length)}${u32(5)}${parentHex}${p}`;
  return `${u32(0)}${u32(0)}${u32(16 + payload.length / 2)}${u32(0)}${payload}`;
}
const vhdFile = fileDescriptor(hostPartition, '\\vhds\\win.vhdx');
// Partition inside a VHD: BlockType 6 at 0x30, the file descriptor where the 16 zero bytes sit in the plain form.
const vhdPartitionPayload = `${'0000100000000000'}${'00'.repeat(8)}${u32(6)}${u32(1)}${'78563412'}${'00'.repeat(12)}${vhdFile}`;
const VHD_PARTITION = `${ZERO16}${u32(6)}${u32(0)}${u32(16 + vhdPartitionPayload.length / 2)}${u32(0)}${vhdPartitionPayload}`;
// Locate form: locate(element 0x12000002, parent at 0x1e) → {type 0, BlockType 6, 20 zero} holding the file.
const vdPayload = `${u32(6)}${'00'.repeat(20)}${vhdFile}`;
const virtualDisk = `${u32(0)}${u32(0)}${u32(16 + vdPayload.length / 2)}${u32(0)}${vdPayload}`;
const locPayload = `${u32(0)}${u32(0x12000002)}${u32(0x1e)}0000${virtualDisk}`;
const VHD_LOCATE = `${ZERO16}${u32(8)}${u32(0)}${u32(16 + locPayload.length / 2)}${u32(0)}${locPayload}`;
const FILE_DEVICE = `${ZERO16}${fileDescriptor(hostPartition, '\\images\\x.img')}`;
const strPayload = `${u32(1)}${u32(0)}${u32(0)}${utf16z('\\sources\\install.wim')}`;
const LOCATE_STRING = `${ZERO16}${u32(8)}${u32(0)}${u32(16 + strPayload.length / 2)}${u32(0)}${strPayload}`;
const UNKNOWN_TYPE = `${ZERO16}${u32(4)}${u32(0)}${u32(24)}${u32(0)}0102030405060708`;
const UNKNOWN_BLOCK = `${ZERO16}${u32(0)}${u32(0)}${u32(24)}${u32(0)}${u32(2)}aabbccdd`;

const ctx = (over: Partial<DeviceDisplayContext> = {}): DeviceDisplayContext => ({
  verbose: false,
  elementText: (t) =>
    t === 0x12000002 ? '\\Windows\\system32\\winload.efi' : t === 0x22000002 ? '\\Windows' : null,
  reference: (g) => g,
  ...over,
});
const show = (h: string, over: Partial<DeviceDisplayContext> = {}) =>
  formatBcdDevice(decodeBcdDevice(fromHex(h)), ctx(over));

function expectCode(f: () => unknown, code: string): BootprobeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe(code);
    return e as BootprobeError;
  }
  throw new Error('expected a BootprobeError');
}

describe('Partition device — bcd.md §7.3', () => {
  it('MBR: signature as at MBR 0x1B8 and the partition start in bytes', () => {
    const d = decodeBcdDevice(fromHex(CORPUS.mbrPartition));
    expect(d.options).toBeNull();
    const p = d.descriptor;
    expect(p.kind).toBe('partition');
    if (p.kind !== 'partition') return;
    expect(p.style).toBe(1);
    expect(p.diskSignature).toBe(0xddba6bbb);
    expect(p.partitionOffset).toBe(1048576n);
    expect(p.diskGuid).toBeNull();
  });
  it('GPT: disk GUID and unique partition GUID in Windows byte order', () => {
    const p = decodeBcdDevice(fromHex(CORPUS.gptPartition)).descriptor;
    if (p.kind !== 'partition') throw new Error(p.kind);
    expect(p.style).toBe(0);
    expect(p.diskGuid).toBe('{2196f74d-5e05-426a-a7c7-d2f8eefafbd6}');
    expect(p.partitionGuid).toBe('{9a78b62b-98b8-4c6b-b8f5-213da47f4290}');
  });
  it('offline and unresolved prints `unknown`, as bcdedit does for a disk it cannot find', () => {
    expect(show(CORPUS.mbrPartition)).toBe('unknown');
  });
  it('verbose prints the disk signature and offset, or the GUIDs', () => {
    expect(show(CORPUS.mbrPartition, { verbose: true })).toBe(
      'partition={disk sig 0xddba6bbb, offset 1048576}',
    );
    expect(show(CORPUS.gptPartition, { verbose: true })).toBe(
      'partition={disk {2196f74d-5e05-426a-a7c7-d2f8eefafbd6}, partition {9a78b62b-98b8-4c6b-b8f5-213da47f4290}}',
    );
  });
  it('a resolvePartition hook names the partition', () => {
    expect(
      show(CORPUS.mbrPartition, { resolvePartition: (p) => (p.diskSignature === 0xddba6bbb ? 'C:' : null) }),
    ).toBe('partition=C:');
  });
  it('the builders produce the corpus bytes', () => {
    expect(toHex(encodeBcdDevice(mbrPartitionDevice(0xddba6bbb, 1048576n)))).toBe(CORPUS.mbrPartition);
    expect(
      toHex(
        encodeBcdDevice(
          gptPartitionDevice(
            '{2196f74d-5e05-426a-a7c7-d2f8eefafbd6}',
            '{9a78b62b-98b8-4c6b-b8f5-213da47f4290}',
          ),
        ),
      ),
    ).toBe(CORPUS.gptPartition);
  });
});

describe('Boot device — bcd.md §7.4', () => {
  it('decodes header {5, 0, 0x48, 0} with 56 zero bytes and prints `boot`', () => {
    expect(decodeBcdDevice(fromHex(CORPUS.boot)).descriptor.kind).toBe('boot');
    expect(show(CORPUS.boot)).toBe('boot');
    expect(toHex(encodeBcdDevice(bootDevice()))).toBe(CORPUS.boot);
  });
});

describe('Locate device — bcd.md §7.5', () => {
  it('element form prints locate= and the referenced element of the same object', () => {
    const d = decodeBcdDevice(fromHex(CORPUS.locate)).descriptor;
    if (d.kind !== 'locate') throw new Error(d.kind);
    expect(d.locateType).toBe(0);
    expect(d.elementType).toBe(0x22000002);
    expect(d.parent).toBeNull();
    expect(d.path).toBe('');
    expect(show(CORPUS.locate)).toBe('locate=\\Windows');
  });
  it('prints locate=unknown when the object has no such element (known-answers.md §2)', () => {
    expect(show(CORPUS.locate, { elementText: () => null })).toBe('locate=unknown');
  });
  it('string form prints its custom path', () => {
    expect(show(LOCATE_STRING)).toBe('locate=\\sources\\install.wim');
  });
  it('the builder produces the sysprep form', () => {
    expect(toHex(encodeBcdDevice(locateDevice(0x22000002)))).toBe(CORPUS.locate);
  });
});

describe('Ramdisk and file devices — bcd.md §7.6', () => {
  it('ramdisk on boot with its options object', () => {
    const d = decodeBcdDevice(fromHex(CORPUS.ramdiskBoot));
    expect(d.options).toBe('{7619dcc8-fafe-11d9-b411-000476eba25f}');
    expect(d.descriptor.flags).toBe(1);
    expect(show(CORPUS.ramdiskBoot)).toBe(
      'ramdisk=[boot]\\sources\\boot.wim,{7619dcc8-fafe-11d9-b411-000476eba25f}',
    );
  });
  it('keeps ImageSize and ImageOffset as found (win10pe)', () => {
    const d = decodeBcdDevice(fromHex(CORPUS.ramdiskWin10pe)).descriptor;
    if (d.kind !== 'ramdisk') throw new Error(d.kind);
    expect(d.imageSize).toBe(0x8cn);
    expect(d.imageOffset).toBe(5);
    expect(toHex(encodeBcdDevice(decodeBcdDevice(fromHex(CORPUS.ramdiskWin10pe))))).toBe(
      CORPUS.ramdiskWin10pe,
    );
  });
  it('ramdisk on a partition prints [unknown] offline and the resolved name otherwise', () => {
    expect(show(CORPUS.ramdiskPartition)).toBe(
      'ramdisk=[unknown]\\Recovery\\WindowsRE\\Winre.wim,{8c03aa05-de17-11ec-b2fa-9f69513e91ec}',
    );
    expect(
      show(CORPUS.ramdiskPartition, { resolvePartition: () => 'disk 0 partition 4', reference: () => '{x}' }),
    ).toBe('ramdisk=[disk 0 partition 4]\\Recovery\\WindowsRE\\Winre.wim,{x}');
  });
  it('file device with a partition parent', () => {
    expect(show(FILE_DEVICE, { resolvePartition: () => 'C:' })).toBe('file=[C:]\\images\\x.img');
  });
});

describe('VHD device — bcd.md §7.7', () => {
  it('partition form prints vhd=[host]path', () => {
    const d = decodeBcdDevice(fromHex(VHD_PARTITION)).descriptor;
    if (d.kind !== 'partition') throw new Error(d.kind);
    expect(d.blockType).toBe(6);
    expect(d.vhdFile?.kind).toBe('file');
    expect(
      show(VHD_PARTITION, { resolvePartition: (p) => (p.diskSignature === 0xa9083c0a ? 'C:' : null) }),
    ).toBe('vhd=[C:]\\vhds\\win.vhdx');
  });
  it('locate form prints vhd=[host]path,locate=custom:12000002', () => {
    expect(show(VHD_LOCATE, { resolvePartition: () => 'D:' })).toBe(
      'vhd=[D:]\\vhds\\win.vhdx,locate=custom:12000002',
    );
  });
});

describe('Unknown devices — bcd.md §7.8', () => {
  it('unknown DeviceType prints unknown and keeps the bytes (shown with -v)', () => {
    expect(show(UNKNOWN_TYPE)).toBe('unknown');
    expect(show(UNKNOWN_TYPE, { verbose: true })).toBe(`unknown (${UNKNOWN_TYPE.slice(32)})`);
  });
  it('unknown BlockType prints unknown', () => {
    expect(decodeBcdDevice(fromHex(UNKNOWN_BLOCK)).descriptor.kind).toBe('block');
    expect(show(UNKNOWN_BLOCK)).toBe('unknown');
  });
});

const ALL = { ...CORPUS, VHD_PARTITION, VHD_LOCATE, FILE_DEVICE, LOCATE_STRING, UNKNOWN_TYPE, UNKNOWN_BLOCK };

describe('Round trip — bcd.md §7.8', () => {
  for (const [name, h] of Object.entries(ALL)) {
    it(`encode(decode(bytes)) = bytes: ${name}`, () => {
      const d: BcdDevice = decodeBcdDevice(fromHex(h));
      expect(toHex(encodeBcdDevice(d))).toBe(h);
      expect(decodeBcdDevice(encodeBcdDevice(d))).toEqual(d);
    });
  }
  it('keeps trailing bytes after the outer descriptor', () => {
    const h = `${CORPUS.boot}abcd`;
    expect(toHex(decodeBcdDevice(fromHex(h)).trailing)).toBe('abcd');
    expect(toHex(encodeBcdDevice(decodeBcdDevice(fromHex(h))))).toBe(h);
  });
});

describe('Hostile device bytes — bcd.md §7.8', () => {
  for (const [name, h] of Object.entries(ALL)) {
    it(`every truncation throws BCD_DEVICE: ${name}`, () => {
      const b = fromHex(h);
      for (let n = 0; n < b.length; n++) expectCode(() => decodeBcdDevice(b.subarray(0, n)), 'BCD_DEVICE');
    });
  }
  const setU32 = (h: string, byteAt: number, v: number) => {
    const b = fromHex(h);
    new DataView(b.buffer).setUint32(byteAt, v >>> 0, true);
    return b;
  };
  for (const v of [0, 1, 15, 0xffffffff]) {
    it(`outer Size ${v} throws BCD_DEVICE with the offset of the Size field`, () => {
      const e = expectCode(() => decodeBcdDevice(setU32(CORPUS.mbrPartition, 0x18, v)), 'BCD_DEVICE');
      expect(e.offset).toBe(0x18);
    });
    it(`ramdisk Length ${v} throws BCD_DEVICE`, () => {
      expectCode(() => decodeBcdDevice(setU32(CORPUS.ramdiskBoot, 0x10 + 0x10 + 0x1c, v)), 'BCD_DEVICE');
    });
    it(`nested Size ${v} inside a ramdisk throws BCD_DEVICE`, () => {
      expectCode(() => decodeBcdDevice(setU32(CORPUS.ramdiskBoot, 0x10 + 0x10 + 0x24 + 8, v)), 'BCD_DEVICE');
    });
  }
  it('a locate parent offset outside the descriptor throws BCD_DEVICE', () => {
    expectCode(() => decodeBcdDevice(setU32(CORPUS.locate, 0x10 + 0x10 + 8, 0x1000)), 'BCD_DEVICE');
    expectCode(() => decodeBcdDevice(setU32(CORPUS.locate, 0x10 + 0x10 + 8, 4)), 'BCD_DEVICE');
  });
  it(`nesting deeper than ${MAX_DEVICE_DEPTH} throws BCD_DEVICE`, () => {
    let inner = CORPUS.boot.slice(32);
    for (let i = 0; i < MAX_DEVICE_DEPTH + 1; i++) {
      const payload = `${u32(0)}${u32(0x12000002)}${u32(0x1e)}0000${inner}`;
      inner = `${u32(8)}${u32(0)}${u32(16 + payload.length / 2)}${u32(0)}${payload}`;
    }
    expectCode(() => decodeBcdDevice(fromHex(`${ZERO16}${inner}`)), 'BCD_DEVICE');
  });
  it('random corruption: decodes and round-trips, or throws BootprobeError', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const seeds = Object.values(ALL).map(fromHex);
    for (let i = 0; i < 3000; i++) {
      const b = new Uint8Array(seeds[i % seeds.length]!);
      for (let k = 0; k <= rnd() % 4; k++) b[rnd() % b.length] = rnd() & 0xff;
      let d: BcdDevice;
      try {
        d = decodeBcdDevice(b);
      } catch (e) {
        expect(e).toBeInstanceOf(BootprobeError);
        continue;
      }
      expect(toHex(encodeBcdDevice(d))).toBe(toHex(b));
      expect(() => formatBcdDevice(d, ctx({ verbose: true }))).not.toThrow();
    }
  });
});
