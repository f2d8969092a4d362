// The encoders the writers add beside the readers' decoders, and the $LogFile and $Bitmap logic, on their own.
import { describe, expect, it } from 'vitest';
import { decodeDosDateTime, encodeDosDateTime } from '../../../src/fs/fat/dir-entry.js';
import { decodeFatEntry, encodeFatEntry } from '../../../src/fs/fat/fat-table.js';
import { ClusterBitmap, MAX_NEW_EXTENTS } from '../../../src/fs/ntfs/bitmap.js';
import { encodeFiletime, filetime } from '../../../src/fs/ntfs/file-name.js';
import { checkLogFile } from '../../../src/fs/ntfs/logfile.js';
import { openNtfs } from '../../../src/fs/ntfs/ntfs.js';
import { applyFixups, protectFixups } from '../../../src/fs/ntfs/record.js';
import { decodeRunlist, encodeRunlist, type Run, runPieces } from '../../../src/fs/ntfs/runlist.js';
import { logFileState } from '../../../src/fs/ntfs/volume-state.js';
import { ByteView } from '../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../src/io/memory-device.js';
import { fixtureBytes, stateVariant } from './fixtures.js';

describe('runlist encoding — ntfs.md §3.1', () => {
  const cases: Run[][] = [
    [{ vcn: 0, length: 1, lcn: 0 }], // a delta of 0 still takes an offset byte (none would mean sparse)
    [
      { vcn: 0, length: 0x80, lcn: 0x7f }, // length 0x80 needs two bytes (top bit of one would be negative)
      { vcn: 0x80, length: 3, lcn: 0x10 }, // negative delta
      { vcn: 0x83, length: 5, lcn: null }, // sparse: no offset field, LCN base unchanged
      { vcn: 0x88, length: 0x10000, lcn: 2 ** 40 }, // a large forward jump
      { vcn: 0x10088, length: 1, lcn: 2 ** 40 - 0x12345678 },
    ],
  ];
  it('decodeRunlist(encodeRunlist(runs)) gives the runs back', () => {
    for (const runs of cases) {
      const enc = encodeRunlist(runs);
      expect(enc[enc.length - 1]).toBe(0);
      const last = runs[runs.length - 1]!;
      expect(decodeRunlist(enc, 0, 2 ** 41, 0, last.vcn + last.length - 1)).toEqual(runs);
    }
    expect(encodeRunlist([])).toEqual(Uint8Array.of(0));
  });

  it('re-encodes the runlists ntfs-3g wrote byte for byte', async () => {
    for (const [fixture, path] of [
      ['fs-write/ntfs-512c', '/frag.bin'],
      ['fs/ntfs-512', '/frag.bin'],
      ['fs/ntfs-512', '/Windows/System32/kernel.bin'],
    ] as const) {
      const fs = await openNtfs(new MemoryDevice(fixtureBytes(fixture)));
      const a = (await fs.allAttributes((await fs.lookup(path)).id)).find(
        (x) => x.type === 0x80 && x.name === '',
      )!;
      const runs = decodeRunlist(a.runlist!, 0, fs.clusterCount, a.offset, a.highestVcn);
      const enc = encodeRunlist(runs);
      expect(Buffer.from(a.runlist!.subarray(0, enc.length)).toString('hex'), `${fixture} ${path}`).toBe(
        Buffer.from(enc).toString('hex'),
      );
    }
  });

  it('maps byte ranges to volume pieces across runs, and refuses sparse or unmapped bytes', () => {
    const runs: Run[] = [
      { vcn: 0, length: 2, lcn: 10 },
      { vcn: 2, length: 2, lcn: 12 }, // contiguous with the first: one piece
      { vcn: 4, length: 1, lcn: 3 },
      { vcn: 5, length: 1, lcn: null },
    ];
    expect(runPieces(runs, 100, 512 * 4, 512, 'x')).toEqual([
      { offset: 10 * 512 + 100, length: 512 * 4 - 100 },
      { offset: 3 * 512, length: 100 },
    ]);
    expect(() => runPieces(runs, 5 * 512, 10, 512, 'x')).toThrow(/has no clusters/);
    expect(() => runPieces(runs, 6 * 512, 10, 512, 'x')).toThrow(/has no clusters/);
  });
});

describe('update sequence protection — ntfs.md §2.1 "Write"', () => {
  it('is undone by applyFixups and takes a new sequence number, skipping 0 and 0xFFFF', async () => {
    const bytes = fixtureBytes('fs-write/ntfs-512c');
    const fs = await openNtfs(new MemoryDevice(bytes));
    const rs = fs.boot.recordSize;
    const at = runPieces(fs.mftLayout.runs, 5 * rs, rs, fs.boot.clusterSize, 'r')[0]!.offset;
    const raw = bytes.slice(at, at + rs);
    const plain = raw.slice();
    applyFixups(plain, 'FILE', at);
    const usaOfs = plain[4]! | (plain[5]! << 8);
    for (const [from, to] of [
      [raw[usaOfs]! | (raw[usaOfs + 1]! << 8), -1],
      [0xfffe, 1],
      [0xffff, 1],
    ]) {
      const p = plain.slice();
      p[usaOfs] = from! & 0xff;
      p[usaOfs + 1] = from! >> 8;
      protectFixups(p);
      const usn = p[usaOfs]! | (p[usaOfs + 1]! << 8);
      expect(usn).toBe(to === -1 ? from! + 1 : to);
      for (let i = 1; i <= rs / 512; i++) expect(p[i * 512 - 2]! | (p[i * 512 - 1]! << 8)).toBe(usn);
      applyFixups(p, 'FILE', at);
      p[usaOfs] = plain[usaOfs]!;
      p[usaOfs + 1] = plain[usaOfs + 1]!;
      expect(Buffer.compare(p, plain)).toBe(0);
    }
  });
});

describe('timestamps', () => {
  it('FILETIME and DOS date/time encode what the readers decode', () => {
    const d = new Date('2031-12-30T23:58:46.123Z');
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, encodeFiletime(d), true);
    expect(filetime(new ByteView(b), 0)).toEqual(d);
    const { date, time } = encodeDosDateTime(d);
    expect(decodeDosDateTime(date, time)).toEqual(new Date('2031-12-30T23:58:46.000Z'));
    expect(
      decodeDosDateTime(...(Object.values(encodeDosDateTime(new Date('1970-01-01'))) as [number, number])),
    ).toEqual(new Date('1980-01-01T00:00:00Z'));
  });
});

describe('FAT entry encoding — fatgen103 "FAT Data Structure"', () => {
  it('is the inverse of decodeFatEntry and leaves neighbours and FAT32 high bits alone', () => {
    for (const c of [2, 3, 1000, 1001]) {
      const b = Uint8Array.of(0xab, 0xcd);
      encodeFatEntry('fat12', c, b, 0x123);
      expect(decodeFatEntry('fat12', c, b)).toBe(0x123);
      // The other nibble belongs to the neighbouring entry.
      if (c & 1) expect(b[0]! & 0x0f).toBe(0x0b);
      else expect(b[1]! & 0xf0).toBe(0xc0);
    }
    const b16 = new Uint8Array(2);
    encodeFatEntry('fat16', 7, b16, 0xfff8);
    expect(decodeFatEntry('fat16', 7, b16)).toBe(0xfff8);
    const b32 = Uint8Array.of(0, 0, 0, 0xf0);
    encodeFatEntry('fat32', 9, b32, 0x0fffffff);
    expect(b32[3]).toBe(0xff);
    encodeFatEntry('fat32', 9, b32, 0x1234567);
    expect(decodeFatEntry('fat32', 9, b32)).toBe(0x1234567);
    expect(b32[3]! & 0xf0).toBe(0xf0);
  });
});

describe('$Bitmap allocation — ntfs.md §8', () => {
  /** 512 clusters of 512 bytes; the bitmap (64 bytes) at cluster 1; `used` clusters marked. */
  function bitmap(used: (c: number) => boolean) {
    const dev = new MemoryDevice(new Uint8Array(512 * 512), { writable: true });
    for (let c = 0; c < 512; c++) if (used(c)) dev.data[512 + (c >> 3)]! |= 1 << (c & 7);
    return { dev, bm: new ClusterBitmap(dev, [{ vcn: 0, length: 1, lcn: 1 }], 64, 512, 512) };
  }

  it('prefers one extent from the goal on, wraps to the start, and gathers pieces only when it must', async () => {
    let { bm } = bitmap((c) => c < 100 || (c >= 200 && c < 210) || c >= 300);
    expect(await bm.findFree(10, 150)).toEqual([{ lcn: 150, length: 10 }]);
    expect(await bm.findFree(60, 150)).toEqual([{ lcn: 210, length: 60 }]); // 150..199 is too short
    expect(await bm.findFree(100, 250)).toEqual([{ lcn: 100, length: 100 }]); // wrapped
    expect(await bm.findFree(150, 0)).toEqual([
      { lcn: 100, length: 100 },
      { lcn: 210, length: 50 },
    ]);
    await expect(bm.findFree(191, 0)).rejects.toMatchObject({ code: 'FS_NO_SPACE', kind: 'unsafe' });
    // Free space in more pieces than one runlist can take.
    ({ bm } = bitmap((c) => c % 2 === 0));
    await expect(bm.findFree(MAX_NEW_EXTENTS + 1, 0)).rejects.toThrow(/pieces/);
  });

  it('marks bits as patches of the bytes holding them, and refuses bits that already disagree', async () => {
    const { dev, bm } = bitmap((c) => c < 16);
    const patches = await bm.mark({ lcn: 20, length: 10 }, true, 'allocated');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.offset).toBe(512 + 2);
    expect([...patches[0]!.data]).toEqual([0xf0, 0x3f]);
    expect(dev.data[512 + 2]).toBe(0); // nothing written: patches only
    await expect(bm.mark({ lcn: 25, length: 2 }, true, 'x')).rejects.toThrow(/already/);
    await expect(bm.mark({ lcn: 100, length: 1 }, false, 'x')).rejects.toThrow(/already/);
    await expect(bm.mark({ lcn: 510, length: 5 }, true, 'x')).rejects.toThrow(/outside/);
  });
});

describe('$LogFile clean check — ntfs.md §7.2', () => {
  it('judges the fixtures as ntfs-3g does (empty, restart areas clean and unclean)', async () => {
    const verdict = async (v: Parameters<typeof stateVariant>[0]) =>
      logFileState(await openNtfs(new MemoryDevice(stateVariant(v))));
    expect((await verdict(null)).verdict).toBe('empty');
    const unclean = await verdict('log-unclean');
    expect(unclean.verdict).toBe('unclean');
    // Both restart pages are valid; the second has the larger LSN and decides.
    expect(unclean.page).toMatchObject({ magic: 'RSTR', position: 4096, clientInUseList: 0, flags: 0 });
    expect((await verdict('log-clean')).verdict).toBe('clean');
  });

  /** A 256 KiB log of 0xFF with the two restart pages of the log-unclean fixture, patched by `edit`. */
  async function synthetic(edit: (pages: Uint8Array) => void, size = 256 * 1024) {
    const fs = await openNtfs(new MemoryDevice(stateVariant('log-unclean')));
    const s = (await fs.stream(2, 0x80, ''))!;
    const pages = (await fs.reader(s, '$LogFile').read(0, 8192)).slice();
    edit(pages);
    const log = new Uint8Array(size).fill(0xff);
    log.set(pages.subarray(0, Math.min(8192, size)));
    return checkLogFile(async (o, l) => log.subarray(o, o + l), size);
  }
  const both = (f: (p: Uint8Array, at: number) => void) => (pages: Uint8Array) => {
    f(pages, 0);
    f(pages, 4096);
  };
  const u16 = (p: Uint8Array, at: number, v: number) => {
    p[at] = v & 0xff;
    p[at + 1] = v >> 8;
  };

  it('gives every other state a name, and never a clean verdict for a damaged log', async () => {
    expect((await synthetic(() => {})).verdict).toBe('unclean');
    expect((await synthetic(both((p, at) => u16(p, at + 0x30 + 0x0c, 0xffff)))).verdict).toBe('clean');
    expect((await synthetic(both((p, at) => u16(p, at + 0x30 + 0x0e, 2)))).verdict).toBe('clean');
    expect(
      (
        await synthetic(
          both((p, at) => {
            u16(p, at + 0x1c, 2);
            u16(p, at + 0x1a, 0);
          }),
        )
      ).verdict,
    ).toBe('version-2');
    // Only the second page (the more recent) clean: it decides.
    expect((await synthetic((p) => u16(p, 4096 + 0x30 + 0x0e, 2))).verdict).toBe('clean');
    // Only the first clean, but older: the second decides.
    expect((await synthetic((p) => u16(p, 0x30 + 0x0e, 2))).verdict).toBe('unclean');
    for (const [what, edit] of [
      ['page size not a power of two', both((p, at) => u16(p, at + 0x10, 3000))],
      ['version 1.2', both((p, at) => u16(p, at + 0x1a, 2))],
      ['usa count wrong', both((p, at) => u16(p, at + 6, 3))],
      ['restart area offset unaligned', both((p, at) => u16(p, at + 0x18, 0x31))],
      ['chkdsk LSN on an RSTR page', both((p, at) => u16(p, at + 8, 1))],
      ['in-use list past the clients', both((p, at) => u16(p, at + 0x30 + 0x0c, 5))],
      ['sequence bits inconsistent', both((p, at) => u16(p, at + 0x30 + 0x10, 1))],
      ['client list loops', both((p, at) => u16(p, at + 0x30 + 0x40 + 0x12, 0))],
      ['a log record page first', (p: Uint8Array) => p.set(Buffer.from('RCRD'), 0)],
    ] as const) {
      expect((await synthetic(edit)).verdict, what).toBe('no-restart-page');
    }
    expect((await synthetic(() => {}, 64 * 1024)).verdict).toBe('too-small');
    // A torn sector past the restart area is tolerated (ntfs-3g: only the first block matters then).
    expect((await synthetic(both((p, at) => u16(p, at + 1024 - 2, p[at + 1024 - 2]! ^ 1)))).verdict).toBe(
      'unclean',
    );
  });
});
