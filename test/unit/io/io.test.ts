import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../src/errors.js';
import { FileDevice } from '../../../src/io/file-device.js';
import {
  ByteView,
  CachedDevice,
  crc32,
  crc32c,
  crc32cWithZeroField,
  formatGuid,
  MemoryDevice,
  newIoStats,
  parseGuid,
  SliceDevice,
} from '../../../src/io/index.js';
import { NodeFileAccess } from '../../../src/io/node-file-access.js';
import { tempDir } from '../../helpers/env.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('ByteView — bounds-checked structure access', () => {
  const v = new ByteView(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), 0x1000, 'test.struct');

  it('reads little- and big-endian fields', () => {
    expect(v.u16le(0)).toBe(0x0201);
    expect(v.u32be(0)).toBe(0x01020304);
    expect(v.u64le(0)).toBe(0x0807060504030201n);
  });

  it('throws TRUNCATED with the absolute offset when a field runs past the end', () => {
    try {
      v.u32le(7);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BootprobeError);
      expect((e as BootprobeError).code).toBe('TRUNCATED');
      expect((e as BootprobeError).offset).toBe(0x1007);
      expect((e as BootprobeError).message).toContain('test.struct');
    }
  });

  it('rejects negative offsets and sub-views past the end', () => {
    expect(() => v.u8(-1)).toThrow(BootprobeError);
    expect(() => v.sub(5, 10)).toThrow(BootprobeError);
    expect(v.sub(2, 3).base).toBe(0x1002);
  });

  it('narrows 64-bit fields only when they fit a safe integer', () => {
    const big = new ByteView(new Uint8Array(8).fill(0xff), 0, 'x');
    expect(() => big.u64leNum(0, 'size')).toThrow(/too large/);
    const ok = new ByteView(new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]), 0, 'x');
    expect(ok.u64leNum(0, 'size')).toBe(2 ** 32);
  });

  it('decodes UTF-16 of any length, unpaired surrogates kept, through its reused short-name arrays', () => {
    const enc = (units: number[], le: boolean) => {
      const b = new Uint8Array(1 + 2 * units.length); // odd start: no aligned view of the units is possible
      units.forEach((u, i) => {
        b[1 + 2 * i + (le ? 0 : 1)] = u & 0xff;
        b[1 + 2 * i + (le ? 1 : 0)] = u >> 8;
      });
      return new ByteView(b, 0, 'test.utf16');
    };
    const cases: number[][] = [
      [],
      [0x41],
      [0x48, 0xe9, 0x4c, 0x4c, 0x4f], // 'HéLLO'
      [0xd800, 0x41, 0xdc00], // lone surrogates, both kinds
      Array.from({ length: 255 }, (_, i) => 0x4e00 + i),
      Array.from({ length: 256 }, (_, i) => 0x61 + (i % 26)),
      Array.from({ length: 5000 }, (_, i) => 0x400 + (i % 200)),
    ];
    for (const units of cases) {
      const want = String.fromCharCode(...units);
      expect(enc(units, true).utf16le(1, 2 * units.length)).toBe(want);
      expect(enc(units, false).utf16be(1, 2 * units.length)).toBe(want);
    }
    // The same length twice in a row: the reused array holds only the second name's units.
    expect(enc([0x61, 0x62, 0x63], true).utf16le(1, 6)).toBe('abc');
    expect(enc([0x78, 0x79], true).utf16le(1, 4)).toBe('xy');
    expect(enc([0x7a, 0x7a, 0x7a], true).utf16le(1, 6)).toBe('zzz');
    expect(enc([0x61, 0, 0x62], true).utf16le(1, 6, true)).toBe('a');
  });

  it('formats and parses Windows mixed-endian GUIDs', () => {
    const g = '2dc27766-f623-4200-9d64-115e9bfd4a08';
    const bytes = parseGuid(`{${g.toUpperCase()}}`)!;
    expect(bytes[0]).toBe(0x66);
    expect(formatGuid(bytes)).toBe(g);
    expect(parseGuid('not-a-guid')).toBeNull();
  });
});

/** The CRC as the polynomial division, bit by bit: no table, no zero-run skipping. */
function bytewiseCrc(poly: number, data: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
  }
  return ~c >>> 0;
}

describe('CRC-32 and CRC-32C', () => {
  it('match the standard check values for "123456789"', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('can be continued from a previous result', () => {
    expect(crc32c(ascii('6789'), crc32c(ascii('12345')))).toBe(0xe3069283);
  });

  it('computes a structure checksum with its field taken as zero', () => {
    const data = ascii('abcdWXYZefgh');
    const zeroed = ascii('abcd\0\0\0\0efgh');
    expect(crc32cWithZeroField(data, 4)).toBe(crc32c(zeroed));
  });

  it('long and short runs of zeros, any seed: the same as the polynomial division bit by bit', () => {
    const bytewise = bytewiseCrc;
    // Known answers: 32 zero bytes (iSCSI / RFC 3720 B.4), and the empty input.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let t = 0; t < 60; t++) {
      const data = new Uint8Array(rnd() % 70000);
      // Islands of data in zeros (what VHDX structures are), at the start and the end.
      for (let i = 0; i < data.length; i += 1 + (rnd() % 3000))
        data.fill(rnd() & 0xff || 1, i, i + (rnd() % 40));
      const s = rnd();
      expect(crc32c(data, s)).toBe(bytewise(0x82f63b78, data, s));
      expect(crc32(data, s)).toBe(bytewise(0xedb88320, data, s));
    }
    for (const n of [63, 64, 65, 4096, 65536, 1 << 20]) {
      expect(crc32c(new Uint8Array(n))).toBe(bytewise(0x82f63b78, new Uint8Array(n)));
    }
  });

  it('zero runs are found a word at a time in a view at any byte offset (the bytes around them included)', () => {
    const whole = new Uint8Array(4096 + 8);
    for (const at of [1, 7, 100, 300, 301, 302, 4000, 4095, 4100]) whole[at] = at & 0xff || 0x5a;
    for (let off = 0; off < 4; off++) {
      for (const len of [127, 128, 129, 4096]) {
        const view = whole.subarray(off, off + len);
        const copy = new Uint8Array(view);
        expect(crc32c(view), `offset ${off}, length ${len}`).toBe(crc32c(copy));
        expect(crc32c(copy)).toBe(bytewiseCrc(0x82f63b78, copy));
      }
    }
  });
});

describe('SliceDevice — a bounded window', () => {
  const mem = new MemoryDevice(Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff));

  it('reads relative to its start', async () => {
    const s = new SliceDevice(mem, 1024, 512);
    expect((await s.read(0, 2))[0]).toBe(0);
    expect((await s.read(1, 1))[0]).toBe(1);
  });

  it('refuses reads outside the window', async () => {
    const s = new SliceDevice(mem, 1024, 512);
    await expect(s.read(500, 20)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
  });

  it('refuses a window outside its container', () => {
    expect(() => new SliceDevice(mem, 4000, 512)).toThrow(BootprobeError);
  });
});

describe('CachedDevice — small LRU block cache', () => {
  it('turns many small reads into few block reads', async () => {
    const stats = newIoStats();
    const mem = new MemoryDevice(new Uint8Array(1 << 20), { stats });
    const c = new CachedDevice(mem, { blockSize: 65536, maxBlocks: 4 });
    for (let i = 0; i < 100; i++) await c.read(i * 8, 8);
    expect(stats.reads).toBe(1);
  });

  it('returns the right bytes across block boundaries', async () => {
    const data = Uint8Array.from({ length: 300000 }, (_, i) => (i * 7) & 0xff);
    const c = new CachedDevice(new MemoryDevice(data), { blockSize: 4096, maxBlocks: 2 });
    const got = await c.read(4090, 20);
    expect(Array.from(got)).toEqual(Array.from(data.subarray(4090, 4110)));
    const last = await c.read(data.length - 5, 5);
    expect(Array.from(last)).toEqual(Array.from(data.subarray(data.length - 5)));
  });

  it('reads over a sector go to the inner device uncached, whole; out-of-range reads reject either way', async () => {
    const stats = newIoStats();
    const data = Uint8Array.from({ length: 65536 }, (_, i) => (i * 13) & 0xff);
    const c = new CachedDevice(new MemoryDevice(data, { stats }), { blockSize: 512 });
    expect(Array.from(await c.read(1000, 4096))).toEqual(Array.from(data.subarray(1000, 5096)));
    await c.read(1000, 4096);
    const into = new Uint8Array(1024);
    await c.readInto(2048, into);
    await c.readInto(2048, into);
    expect(Array.from(into)).toEqual(Array.from(data.subarray(2048, 3072)));
    expect(stats.reads).toBe(4);
    await c.read(0, 512);
    await c.read(100, 8);
    expect(stats.reads).toBe(5); // a sector is cached
    await expect(c.read(65536 - 100, 4096)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
    await expect(c.read(65536 - 10, 20)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
  });

  it('evicts the least recently used block', async () => {
    const stats = newIoStats();
    const c = new CachedDevice(new MemoryDevice(new Uint8Array(65536), { stats }), {
      blockSize: 4096,
      maxBlocks: 2,
    });
    await c.read(0, 1);
    await c.read(4096, 1);
    await c.read(0, 1); // block 0 is now most recent
    await c.read(8192, 1); // evicts block 1
    await c.read(0, 1);
    expect(stats.reads).toBe(3);
    await c.read(4096, 1);
    expect(stats.reads).toBe(4);
  });
});

describe('FileDevice — positional reads on a file handle', () => {
  it('reads at offsets and counts bytes and requests', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const p = path.join(dir, 'f.bin');
      writeFileSync(
        p,
        Uint8Array.from({ length: 10000 }, (_, i) => i & 0xff),
      );
      const stats = newIoStats();
      const dev = await FileDevice.open(p, { stats });
      expect(dev.size).toBe(10000);
      expect((await dev.read(300, 4))[0]).toBe(300 & 0xff);
      await expect(dev.read(9999, 2)).rejects.toMatchObject({ code: 'READ_OUT_OF_RANGE' });
      expect(stats).toMatchObject({ bytesRead: 4, reads: 1 });
      await dev.close();
    } finally {
      cleanup();
    }
  });

  it('readInto fills the caller’s buffer, synchronously or through the thread pool (asyncReads), checked alike', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const p = path.join(dir, 'f.bin');
      const data = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7) & 0xff);
      writeFileSync(p, data);
      for (const asyncReads of [false, true]) {
        const stats = newIoStats();
        const dev = await FileDevice.open(p, { stats, asyncReads });
        const buf = new Uint8Array(5000).fill(0xee);
        await dev.readInto(4999, buf);
        expect(Array.from(buf)).toEqual(Array.from(data.subarray(4999, 9999)));
        expect(Array.from(await dev.read(9990, 10))).toEqual(Array.from(data.subarray(9990)));
        await expect(dev.readInto(9999, new Uint8Array(2))).rejects.toMatchObject({
          code: 'READ_OUT_OF_RANGE',
        });
        await expect(dev.readInto(-1, new Uint8Array(2))).rejects.toMatchObject({
          code: 'READ_OUT_OF_RANGE',
        });
        expect(stats).toMatchObject({ bytesRead: 5010, reads: 2 });
        await dev.close();
      }
    } finally {
      cleanup();
    }
  });

  it('reports a missing file as FILE_NOT_FOUND', async () => {
    await expect(FileDevice.open('/nonexistent/x.vhd')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});

describe('NodeFileAccess — companion files named in Windows syntax', () => {
  const fa = new NodeFileAccess();
  it('resolves .\\ relative paths beside the child', () => {
    expect(fa.resolveBeside(path.join('a', 'b', 'child.vhd'), '.\\sub\\parent.vhd')).toBe(
      path.join('a', 'b', 'sub', 'parent.vhd'),
    );
    expect(fa.resolveBeside(path.join('a', 'b', 'child.vhd'), '..\\parent.vhdx')).toBe(
      path.join('a', 'parent.vhdx'),
    );
  });

  it('keeps absolute Windows paths and strips the \\\\?\\ prefix', () => {
    const r = fa.resolveBeside('x/child.vhdx', '\\\\?\\C:\\VMs\\p.vhdx');
    expect(r.replace(/\\/g, '/')).toBe('C:/VMs/p.vhdx');
  });

  it('returns null for a file that does not exist', async () => {
    expect(await fa.open('/nonexistent/parent.vhd')).toBeNull();
  });
});
