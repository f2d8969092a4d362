// Damaged NTFS volumes: each corruption must end in a BootprobeError with a code and a volume offset, never a
// RangeError/TypeError and never a hang. Corruptions are made on copies of the scripts/fixtures/ntfs.sh volumes.
import { describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import type { FsEntry } from '../../../../src/fs/file-system.js';
import { decodeIndexRecord } from '../../../../src/fs/ntfs/index-record.js';
import { type NtfsFileSystem, openNtfs } from '../../../../src/fs/ntfs/ntfs.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { image, type Volume } from './fixture.js';

const pristine = new Map<Volume, Uint8Array>();
const copy = (name: Volume) => {
  let b = pristine.get(name);
  if (!b) {
    b = image(name);
    pristine.set(name, b);
  }
  return b.slice();
};
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) => (u16(b, at) + u16(b, at + 2) * 65536) >>> 0;
const put64 = (b: Uint8Array, at: number, v: bigint) => new DataView(b.buffer).setBigUint64(at, v, true);

async function recordOffset(name: Volume, path: string): Promise<number> {
  const fs = await openNtfs(new MemoryDevice(copy(name)));
  return (await fs.stat(await fs.lookup(path))).recordOffset as number;
}

/** Absolute offset of the first attribute of `type` in the (raw) record at `rec`. */
function attributeAt(b: Uint8Array, rec: number, type: number): number {
  let at = rec + u16(b, rec + 0x14);
  for (let i = 0; i < 64 && u32(b, at) !== 0xffffffff; i++) {
    if (u32(b, at) === type) return at;
    at += u32(b, at + 4);
  }
  throw new Error(`no attribute ${type.toString(16)} in record at ${rec}`);
}

/** Opens, walks every directory and reads every file and stream; returns the first error. */
async function exercise(b: Uint8Array): Promise<unknown> {
  try {
    const fs = await openNtfs(new MemoryDevice(b));
    const walk = async (d: FsEntry, depth: number): Promise<void> => {
      if (depth > 40) throw new Error('walk deeper than 40: a loop went unnoticed');
      for (const e of await fs.list(d)) {
        if (e.isDirectory) await walk(e, depth + 1);
        else {
          const r = await fs.openFile(e);
          await r.read(0, Math.min(r.size, 1 << 20));
          for (const s of e.streams) await (await fs.openFile(e, s.name)).read(0, Math.min(s.size, 1 << 20));
        }
        await fs.stat(e);
        await fs.lookup(e.path);
      }
    };
    await walk(await fs.root(), 0);
    return null;
  } catch (e) {
    return e;
  }
}

async function expectCode(p: Promise<unknown>, code: string): Promise<BootprobeError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(BootprobeError);
  expect((e as BootprobeError).code).toBe(code);
  expect((e as BootprobeError).offset).toEqual(expect.any(Number));
  return e as BootprobeError;
}

describe('hostile MFT records — ntfs.md §2, §2.1, §3', () => {
  it('a torn write (update sequence mismatch) in a file record: NTFS_BAD_FIXUP at the sector end', async () => {
    const b = copy('ntfs-a');
    const rec = await recordOffset('ntfs-a', '/tiny.txt');
    b[rec + 510] = b[rec + 510]! ^ 0xff;
    const fs = await openNtfs(new MemoryDevice(b));
    const e = await expectCode(fs.lookup('/tiny.txt'), 'NTFS_BAD_FIXUP');
    expect(e.offset).toBe(rec + 510);
  });

  it('an attribute whose length runs past the record: NTFS_ATTRIBUTE', async () => {
    const b = copy('ntfs-a');
    const rec = await recordOffset('ntfs-a', '/tiny.txt');
    const at = attributeAt(b, rec, 0x80);
    b[at + 4] = 0x00;
    b[at + 5] = 0x10; // 4096 bytes in a 1024-byte record
    const fs = await openNtfs(new MemoryDevice(b));
    await expectCode(fs.lookup('/tiny.txt'), 'NTFS_ATTRIBUTE');
  });

  it('a runlist that points past the volume: NTFS_RUNLIST', async () => {
    const b = copy('ntfs-a');
    const rec = await recordOffset('ntfs-a', '/big.bin');
    const at = attributeAt(b, rec, 0x80);
    const rl = at + u16(b, at + 0x20);
    const h = b[rl]!;
    // Make the first run's LCN field all 0x7f: far past the 4096-cluster volume.
    for (let i = 0; i < h >> 4; i++) b[rl + 1 + (h & 15) + i] = 0x7f;
    const fs = await openNtfs(new MemoryDevice(b));
    await expectCode(
      fs.lookup('/big.bin').then((e) => fs.openFile(e)),
      'NTFS_RUNLIST',
    );
  });

  it('a data size past the allocation or past 2^53: NTFS_ATTRIBUTE, nothing allocated', async () => {
    for (const size of [1n << 50n, 1n << 62n]) {
      const b = copy('ntfs-a');
      const rec = await recordOffset('ntfs-a', '/big.bin');
      put64(b, attributeAt(b, rec, 0x80) + 0x30, size);
      const fs = await openNtfs(new MemoryDevice(b));
      await expectCode(fs.lookup('/big.bin'), 'NTFS_ATTRIBUTE');
    }
  });

  it('an attribute list naming a record of another file: NTFS_ATTRIBUTE (no loop, no foreign data)', async () => {
    const b = copy('ntfs-c');
    const rec = await recordOffset('ntfs-c', '/sparse-runs.bin');
    const fs0 = await openNtfs(new MemoryDevice(b));
    const st = await fs0.stat(await fs0.lookup('/sparse-runs.bin'));
    const list = (st.attributes as { type: string; runs?: { lcn: number }[] }[]).find(
      (a) => a.type === '$ATTRIBUTE_LIST',
    )!;
    // The list is non-resident: its first entry pointing at a non-base record (record 24, $Quota) is foreign.
    const listAt = list.runs![0]!.lcn * 512;
    let at = listAt;
    while (u32(b, at + 0x10) === (await fs0.lookup('/sparse-runs.bin')).id) at += u16(b, at + 4);
    put64(b, at + 0x10, (1n << 48n) | 24n);
    expect(rec).toBeGreaterThan(0);
    const fs = await openNtfs(new MemoryDevice(b));
    await expectCode(fs.lookup('/sparse-runs.bin'), 'NTFS_ATTRIBUTE');
  });

  it('a compressed $DATA with a compression unit of 0 or 2^9 clusters: NTFS_COMPRESSION; encrypted: refused', async () => {
    for (const [field, value, code] of [
      [0x22, 0, 'NTFS_COMPRESSION'],
      [0x22, 9, 'NTFS_COMPRESSION'],
      [0x0d, 0x40, 'NTFS_ATTRIBUTE'], // flags 0x4001: encrypted (EFS) as well
    ] as const) {
      const b = copy('ntfs-a');
      const rec = await recordOffset('ntfs-a', '/comp/text.txt');
      b[attributeAt(b, rec, 0x80) + field] = value;
      const fs = await openNtfs(new MemoryDevice(b));
      await expectCode(
        fs.lookup('/comp/text.txt').then((e) => fs.openFile(e)),
        code,
      );
    }
  });

  it('an index entry naming a record past the end of $MFT: NTFS_RECORD', async () => {
    const b = copy('ntfs-a');
    const rec = await recordOffset('ntfs-a', '/sub');
    const root = attributeAt(b, rec, 0x90);
    const value = root + u16(b, root + 0x14);
    const first = value + 0x10 + u32(b, value + 0x10);
    put64(b, first, (1n << 48n) | 0xfffffffn); // the only file in /sub: tiny-link.txt
    const fs = await openNtfs(new MemoryDevice(b));
    await expectCode(fs.lookup('/sub/tiny-link.txt'), 'NTFS_RECORD');
  });
});

describe('hostile $I30 B-trees — ntfs.md §4', () => {
  /** The internal INDX node of /many (all its entries have children), its offset and one child-VCN field. */
  async function internalNode(name: Volume) {
    const b = copy(name);
    const fs = await openNtfs(new MemoryDevice(b));
    const rs = fs.boot.indexRecordSize;
    for (let at = 0; at + rs <= b.length; at += 512) {
      if (b[at] !== 0x49 || b[at + 1] !== 0x4e || b[at + 2] !== 0x44 || b[at + 3] !== 0x58) continue;
      const vcn = Number(new DataView(b.buffer).getBigUint64(at + 0x10, true));
      const r = decodeIndexRecord(b.slice(at, at + rs), vcn, at);
      const keyed = r.entries.filter((e) => e.key);
      if (!keyed.length || !keyed.every((e) => e.child !== null && e.key!.name.startsWith('file-'))) continue;
      // A child-VCN field (the entry's last 8 bytes) that does not overlap a sector end (fixup bytes).
      for (const e of keyed) {
        const field = e.offset + u16(b, e.offset + 8) - 8;
        if ((field - at) % 512 < 502) return { b, at, vcn, field, fs: fs as NtfsFileSystem };
      }
    }
    throw new Error('no internal index node found');
  }

  it('a child pointer back to its own node (a loop) ends with NTFS_INDEX, for lookup and listing', async () => {
    const { b, vcn, field } = await internalNode('ntfs-a');
    put64(b, field, BigInt(vcn));
    const fs = await openNtfs(new MemoryDevice(b));
    const many = await fs.lookup('/many');
    await expectCode(fs.list(many), 'NTFS_INDEX');
    const errors = await Promise.all(
      Array.from({ length: 70 }, (_, i) =>
        fs.lookup(`/many/file-${String(i * 10 + 1).padStart(4, '0')}.txt`).then(
          () => null,
          (e: unknown) => e,
        ),
      ),
    );
    const failed = errors.filter((e) => e !== null);
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) expect((e as BootprobeError).code).toBe('NTFS_INDEX');
  });

  it('a child pointer past the index allocation ends with NTFS_INDEX', async () => {
    const { b, field } = await internalNode('ntfs-b');
    put64(b, field, 1n << 40n);
    const fs = await openNtfs(new MemoryDevice(b));
    await expectCode(fs.list(await fs.lookup('/many')), 'NTFS_INDEX');
  });

  it('an INDX record whose own VCN disagrees with the pointer: NTFS_INDEX at that record', async () => {
    const { b, at } = await internalNode('ntfs-a');
    b[at + 0x10] = b[at + 0x10]! ^ 0x01;
    const fs = await openNtfs(new MemoryDevice(b));
    const e = await expectCode(fs.list(await fs.lookup('/many')), 'NTFS_INDEX');
    expect(e.offset).toBe(at + 0x10);
  });
});

describe('hostile volumes as a whole — truncation and seeded mutations', () => {
  it('ntfs-c truncated at every 256 KiB: opening, walking and reading fail only with BootprobeError', async () => {
    const whole = copy('ntfs-c');
    for (let cut = 0; cut < whole.length; cut += 256 * 1024) {
      const e = await exercise(whole.slice(0, cut));
      if (e !== null) expect(e, `cut at ${cut}`).toBeInstanceOf(BootprobeError);
    }
  });

  for (const name of ['ntfs-a', 'ntfs-c'] as const) {
    it(`${name}: 150 seeded mutations of MFT and index bytes fail only with BootprobeError`, async () => {
      const base = copy(name);
      const fs = await openNtfs(new MemoryDevice(base));
      const mft = fs.boot.mftLcn * fs.boot.clusterSize;
      // Metadata to damage: the first 96 MFT records, and every INDX record.
      const targets: [number, number][] = [[mft, 96 * fs.boot.recordSize]];
      for (let at = 0; at + 4096 <= base.length; at += 4096)
        if (base[at] === 0x49 && base[at + 1] === 0x4e && base[at + 2] === 0x44 && base[at + 3] === 0x58)
          targets.push([at, 4096]);
      let seed = 12345;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      let failures = 0;
      for (let i = 0; i < 150; i++) {
        const b = base.slice();
        const [from, len] = targets[rnd(targets.length)]!;
        for (let k = 0; k < 1 + rnd(6); k++) {
          const at = from + rnd(len);
          b[at] = [0, 0xff, 0x7f, 0x80, rnd(256)][rnd(5)]!;
        }
        const e = await exercise(b);
        if (e !== null) {
          failures++;
          expect(e, `mutation ${i}`).toBeInstanceOf(BootprobeError);
        }
      }
      expect(failures).toBeGreaterThan(10);
    }, 120_000);
  }
});
