// Logs are built here from a hivex-made hive by the rules of regf.md §7.1/§7.2; the replay itself is checked
// byte-exactly against Windows' own recovered hives in test/corpus/hive.test.ts.
import { describe, expect, it } from 'vitest';
import {
  decodeLogEntry,
  decodeOldLog,
  marvin32,
  openHive,
  patchBaseBlock,
  recoverHive,
} from '../../../src/hive/index.js';
import { ByteView } from '../../../src/io/index.js';
import { fixture, getU32, u32 } from './fixtures.js';

/** The clean fixture, and a "later" image in which the dword "Zebra" (inline in its vk) became 0x0badf00d. */
function states() {
  const before = fixture('types-v13.hiv');
  const h = openHive(before);
  const t = h.getKey('Types')!;
  const vl = h.space.cell(t.nk.valueListOffset, 'vl').data;
  let vkAt = -1;
  for (let i = 0; i < t.nk.valueCount; i++) {
    const cell = h.space.cell(vl.u32le(i * 4), 'vk');
    if (cell.data.ascii(20, 5) === 'Zebra') vkAt = cell.data.base;
  }
  const after = before.slice();
  u32(after, vkAt + 8, 0x0badf00d);
  const page4k = Math.floor((vkAt - 4096) / 4096) * 4096; // bins-relative 4 KiB block holding the change
  return { before, after, page4k };
}

const dirtyPrimary = (clean: Uint8Array, seq1: number, seq2: number) => {
  const b = clean.slice();
  patchBaseBlock(b, { primarySequence: seq1, secondarySequence: seq2 });
  return b;
};

/** A new-format log: base-block copy (type 6, seq), then one HvLE entry per {seq, pages}. */
function newLog(
  base: Uint8Array,
  baseSeq: number,
  entries: { seq: number; pages: { offset: number; data: Uint8Array }[] }[],
) {
  const head = base.slice(0, 512);
  patchBaseBlock(head, { primarySequence: baseSeq, secondarySequence: baseSeq, fileType: 6 });
  const parts: Uint8Array[] = [head];
  for (const e of entries) {
    const body = 40 + e.pages.length * 8 + e.pages.reduce((n, p) => n + p.data.length, 0);
    const size = Math.ceil(body / 512) * 512;
    const b = new Uint8Array(size);
    b.set(Buffer.from('HvLE', 'latin1'));
    u32(b, 4, size);
    u32(b, 12, e.seq);
    u32(b, 16, getU32(base, 40));
    u32(b, 20, e.pages.length);
    let at = 40 + e.pages.length * 8;
    e.pages.forEach((p, i) => {
      u32(b, 40 + i * 8, p.offset);
      u32(b, 44 + i * 8, p.data.length);
      b.set(p.data, at);
      at += p.data.length;
    });
    const [l1, h1] = marvin32(b.subarray(40));
    u32(b, 24, l1);
    u32(b, 28, h1);
    const [l2, h2] = marvin32(b.subarray(0, 32));
    u32(b, 32, l2);
    u32(b, 36, h2);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** An old-format log: base-block copy (type 1), "DIRT" + bitmap, then the dirty 512-byte pages. */
function oldLog(after: Uint8Array, seq: number, page4k: number) {
  const bins = getU32(after, 40);
  const head = after.slice(0, 512);
  patchBaseBlock(head, { primarySequence: seq, secondarySequence: seq, fileType: 1 });
  const bitmap = new Uint8Array(bins / 4096);
  bitmap[page4k / 4096] = 0xff; // Windows dirties whole 4 KiB blocks: 8 bits
  const pagesAt = Math.ceil((516 + bitmap.length) / 512) * 512;
  const log = new Uint8Array(pagesAt + 4096);
  log.set(head);
  log.set(Buffer.from('DIRT', 'latin1'), 512);
  log.set(bitmap, 516);
  log.set(after.subarray(4096 + page4k, 4096 + page4k + 4096), pagesAt);
  return log;
}

const zebra = (bytes: Uint8Array, logs: Uint8Array[]) =>
  Array.from(openHive(bytes, { logs, strict: true }).getKey('Types')!.value('Zebra')!.data);

describe('new-format log replay — regf.md §7.2, §7.3, §7.5', () => {
  it('a dirty hive (3/2) with a log at 3 gets the logged page; both sequences = last entry', () => {
    const { before, after, page4k } = states();
    const log = newLog(after, 3, [
      { seq: 3, pages: [{ offset: page4k, data: after.subarray(4096 + page4k, 8192 + page4k) }] },
    ]);
    const h = openHive(dirtyPrimary(before, 3, 2), { logs: [log], strict: true });
    expect(h.recovery).toEqual({ format: 'new', logsUsed: [0], applied: 1, sequence: 3 });
    expect([h.baseBlock.primarySequence, h.baseBlock.secondarySequence, h.baseBlock.fileType]).toEqual([
      3, 3, 0,
    ]);
    expect(h.baseBlock.checksumValid).toBe(true);
    expect(zebra(dirtyPrimary(before, 3, 2), [log])).toEqual([0x0d, 0xf0, 0xad, 0x0b]);
  });

  it('entries chain across logs by sequence; a gap stops the replay', () => {
    const { before, after, page4k } = states();
    const page = { offset: page4k, data: after.subarray(4096 + page4k, 8192 + page4k) };
    const old = { offset: page4k, data: before.subarray(4096 + page4k, 8192 + page4k) };
    const a = newLog(after, 2, [{ seq: 2, pages: [old] }]);
    const b = newLog(after, 3, [{ seq: 3, pages: [page] }]);
    expect(recoverHive(dirtyPrimary(before, 3, 2), [b, a]).report).toMatchObject({
      logsUsed: [1, 0],
      applied: 2,
    });
    const gap = newLog(after, 4, [{ seq: 4, pages: [page] }]);
    const r = recoverHive(dirtyPrimary(before, 4, 2), [a, gap]);
    expect(r.report).toMatchObject({ logsUsed: [0], applied: 1, sequence: 2 });
  });

  it('a log older than the secondary sequence is stale: not replayed → HIVE_DIRTY (strict)', () => {
    const { before, after, page4k } = states();
    const log = newLog(after, 1, [
      { seq: 1, pages: [{ offset: page4k, data: after.subarray(4096 + page4k, 8192 + page4k) }] },
    ]);
    expect(() => openHive(dirtyPrimary(before, 3, 2), { logs: [log], strict: true })).toThrow(
      expect.objectContaining({ code: 'HIVE_DIRTY' }),
    );
  });

  it('an entry with a bad hash, a wrong sequence or pages outside it ends the log', () => {
    const { before, after, page4k } = states();
    const mk = () =>
      newLog(after, 3, [
        { seq: 3, pages: [{ offset: page4k, data: after.subarray(4096 + page4k, 8192 + page4k) }] },
      ]);
    const view = (b: Uint8Array) => new ByteView(b, 0, 'log');
    expect(typeof decodeLogEntry(view(mk()), 512, 3)).toBe('object');
    const badData = mk();
    badData[512 + 100] = badData[512 + 100]! ^ 1;
    expect(decodeLogEntry(view(badData), 512, 3)).toMatch(/data hash/);
    const badHeader = mk();
    badHeader[512 + 16] = badHeader[512 + 16]! ^ 0x10;
    expect(decodeLogEntry(view(badHeader), 512, 3)).toMatch(/hash|4096/);
    expect(decodeLogEntry(view(mk()), 512, 4)).toMatch(/sequence/);
    expect(decodeLogEntry(view(mk().subarray(0, 1024)), 512, 3)).toMatch(/size/);
    for (const b of [badData, badHeader]) {
      expect(recoverHive(dirtyPrimary(before, 3, 2), [b]).report).toBeNull();
    }
  });

  it('a corrupt primary base block is replaced by the latest log base block (§7.5 step 1)', () => {
    const { before, after, page4k } = states();
    const broken = dirtyPrimary(before, 3, 2);
    broken[0] = 0; // signature gone
    const log = newLog(after, 3, [
      { seq: 3, pages: [{ offset: page4k, data: after.subarray(4096 + page4k, 8192 + page4k) }] },
    ]);
    expect(zebra(broken, [log])).toEqual([0x0d, 0xf0, 0xad, 0x0b]);
  });

  it('a page offset or bins size far beyond the inputs is refused, not allocated', () => {
    const { before, after } = states();
    const log = newLog(after, 3, [{ seq: 3, pages: [{ offset: 0x7ff00000, data: new Uint8Array(4096) }] }]);
    u32(log, 512 + 16, 0x80000000);
    expect(recoverHive(dirtyPrimary(before, 3, 2), [log]).report).toBeNull();
  });
});

describe('old-format log replay — regf.md §7.1, §7.4', () => {
  it('dirty pages land at 4096 + 512·k; the base block comes from the log, type 0, sequences equal', () => {
    const { before, after, page4k } = states();
    const primary = dirtyPrimary(before, 3, 2);
    const log = oldLog(after, 3, page4k);
    const decoded = decodeOldLog(log);
    expect(decoded.dirtyPages).toEqual(Array.from({ length: 8 }, (_, i) => page4k / 512 + i));
    expect(decoded.pagesAt).toBe(1024);
    const h = openHive(primary, { logs: [new Uint8Array(0), log], strict: true });
    expect(h.recovery).toEqual({ format: 'old', logsUsed: [1], applied: 8, sequence: 3 });
    expect([h.baseBlock.primarySequence, h.baseBlock.secondarySequence, h.baseBlock.fileType]).toEqual([
      3, 3, 0,
    ]);
    expect(zebra(primary, [log])).toEqual([0x0d, 0xf0, 0xad, 0x0b]);
  });

  it('a log whose timestamp differs from the primary does not apply', () => {
    const { before, after, page4k } = states();
    const log = oldLog(after, 3, page4k);
    log[12] = log[12]! ^ 1;
    patchBaseBlock(log, {});
    expect(recoverHive(dirtyPrimary(before, 3, 2), [log]).report).toBeNull();
  });

  it('a bitmap announcing more pages than the log holds → HIVE_LOG', () => {
    const { after, page4k } = states();
    const log = oldLog(after, 3, page4k);
    log[516] = 0xff;
    expect(() => decodeOldLog(log.subarray(0, log.length - 512))).toThrow(
      expect.objectContaining({ code: 'HIVE_LOG' }),
    );
    expect(() => decodeOldLog(log.subarray(0, 515))).toThrow(expect.objectContaining({ code: 'HIVE_LOG' }));
  });
});
