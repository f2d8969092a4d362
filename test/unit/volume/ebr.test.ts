import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/errors.js';
import { ByteView, MemoryDevice } from '../../../src/io/index.js';
import { decodeEbr, MAX_EBR_LINKS, readEbrChain } from '../../../src/volume/ebr.js';
import { decodeMbr, type MbrEntry } from '../../../src/volume/mbr.js';
import {
  blankMbrDisk,
  expectedFromSfdisk,
  fixtureDevice,
  markEbr,
  setEntry,
  sfdiskAnswer,
} from './fixtures.js';

const E = 10; // the extended partition's start LBA in the hand-built disks
const ENTRY1 = 0x1be;
const ENTRY2 = 0x1ce;

/** A 200-sector disk whose MBR entry 1 is an extended partition at LBA 10 of `count` sectors. */
function extendedDisk(count = 150) {
  const b = blankMbrDisk(200);
  setEntry(b, 0x1be, 0, 0x05, E, count);
  return b;
}
/** Link: EBR at `lba` with a logical partition `rel` sectors after it and a next EBR at E + `next`. */
function link(b: Uint8Array, lba: number, logical: [number, number] | null, next: number | null) {
  markEbr(b, lba);
  if (logical) setEntry(b, lba * 512 + ENTRY1, 0, 0x07, logical[0], logical[1]);
  if (next !== null) setEntry(b, lba * 512 + ENTRY2, 0, 0x05, next, 2);
}
async function walk(b: Uint8Array, warnings: Finding[] = []) {
  const dev = new MemoryDevice(b);
  const mbr = decodeMbr(new ByteView(b.subarray(0, 512)));
  return readEbrChain(dev, 512, mbr.entries[0] as MbrEntry, warnings);
}
async function chainError(b: Uint8Array) {
  try {
    await walk(b);
  } catch (e) {
    return e as { code: string; offset: number; message: string };
  }
  throw new Error('the chain was accepted');
}

describe('EBR chain — boot-sectors.md §1.1', () => {
  it('follows sfdisk’s chain: three logical partitions, starts relative to each EBR (mbr-logical)', async () => {
    const dev = fixtureDevice('mbr-logical');
    const mbr = decodeMbr(new ByteView(await dev.read(0, 512)));
    const container = mbr.entries.find((e) => e.type === 0x05)!;
    const warnings: Finding[] = [];
    const chain = await readEbrChain(dev, 512, container, warnings);
    const want = expectedFromSfdisk(sfdiskAnswer('mbr-logical')).filter((p) => p.index >= 5);
    expect(chain.map((l) => ({ start: l.startLba * 512, size: l.sectorCount * 512 }))).toEqual(
      want.map((p) => ({ start: p.start, size: p.size })),
    );
    expect(chain.map((l) => `0x${l.entry.type.toString(16).padStart(2, '0')}`)).toEqual(
      want.map((p) => p.type),
    );
    // Each EBR precedes its logical partition inside the container.
    for (const l of chain) expect(l.ebrLba).toBeLessThan(l.startLba);
    expect(warnings).toEqual([]);
  });

  it('the next EBR is relative to the extended partition, not to the current EBR', async () => {
    const b = extendedDisk();
    link(b, E, [1, 4], 20); // next at E + 20 = 30 (E-relative); EBR-relative would be 40
    link(b, 30, [1, 4], null);
    markEbr(b, 40);
    setEntry(b, 40 * 512 + ENTRY1, 0, 0x83, 1, 4); // a decoy where an EBR-relative reader would land
    const chain = await walk(b);
    expect(chain.map((l) => [l.ebrLba, l.startLba])).toEqual([
      [10, 11],
      [30, 31],
    ]);
  });

  it('a link without a logical partition is followed but yields none', async () => {
    const b = extendedDisk();
    link(b, E, null, 20);
    link(b, 30, [2, 4], null);
    const chain = await walk(b);
    expect(chain.map((l) => l.startLba)).toEqual([32]);
  });

  it('a chain that loops back is EBR_CHAIN at the entry that points back', async () => {
    const b = extendedDisk();
    link(b, E, [1, 4], 20);
    link(b, 30, [1, 4], 0); // back to E
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.offset).toBe(30 * 512 + ENTRY2);
    expect(err.message).toMatch(/loops/);
  });

  it('a link leaving the extended partition is EBR_CHAIN', async () => {
    const b = extendedDisk(50);
    link(b, E, [1, 4], 60); // E + 60 ≥ E + 50
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.offset).toBe(E * 512 + ENTRY2);
  });

  it('a link past the end of the disk is EBR_CHAIN, not a read error', async () => {
    const b = extendedDisk(0xfffff); // the container claims far more than the 200-sector disk
    link(b, E, [1, 4], 5000);
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.message).toMatch(/past the end/);
  });

  it('an extended partition that starts past the disk is EBR_CHAIN at the MBR entry', async () => {
    const b = blankMbrDisk(200);
    setEntry(b, 0x1be, 0, 0x0f, 100000, 10);
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.offset).toBe(0x1be);
  });

  it('an EBR without 55 AA is EBR_CHAIN at its signature', async () => {
    const b = extendedDisk();
    link(b, E, [1, 4], 20); // LBA 30 is left blank
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.offset).toBe(30 * 512 + 0x1fe);
  });

  it(`a chain longer than ${MAX_EBR_LINKS} links stops with EBR_CHAIN`, async () => {
    const b = extendedDisk(189);
    for (let i = 0; i < 150; i++) link(b, E + i, null, i + 1);
    const err = await chainError(b);
    expect(err.code).toBe('EBR_CHAIN');
    expect(err.message).toMatch(/longer than 128/);
  });

  it('a logical partition outside the extended partition is kept, with a warning', async () => {
    const b = extendedDisk(20);
    link(b, E, [100, 4], null);
    const warnings: Finding[] = [];
    const chain = await walk(b, warnings);
    expect(chain.map((l) => l.startLba)).toEqual([110]);
    expect(warnings.map((w) => [w.code, w.offset])).toEqual([['EBR_CHAIN', E * 512 + ENTRY1]]);
  });

  it('decodeEbr: entry 1 is the logical partition, entry 2 the link only when extended', () => {
    const b = blankMbrDisk(1);
    setEntry(b, ENTRY1, 0, 0x07, 63, 100);
    setEntry(b, ENTRY2, 0, 0x83, 200, 10); // not an extended type: ends the chain
    const ebr = decodeEbr(new ByteView(b, 0x5000));
    expect(ebr.logical?.startLba).toBe(63);
    expect(ebr.logical?.entryOffset).toBe(0x5000 + ENTRY1);
    expect(ebr.next).toBeNull();
  });
});
