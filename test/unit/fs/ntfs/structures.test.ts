// NTFS on-disk structures decoded on their own: known answers from the fixtures and from the rules in docs/ntfs.md,
// and hostile bytes that must end in a BootprobeError.
import { beforeAll, describe, expect, it } from 'vitest';
import { BootprobeError } from '../../../../src/errors.js';
import { decodeAttributes } from '../../../../src/fs/ntfs/attribute.js';
import { decodeAttributeList } from '../../../../src/fs/ntfs/attribute-list.js';
import {
  decodeClustersPerRecord,
  decodeNtfsBootSector,
  decodeSectorsPerCluster,
} from '../../../../src/fs/ntfs/boot-sector.js';
import { decodeFileName } from '../../../../src/fs/ntfs/file-name.js';
import {
  decodeIndexNode,
  indexEntryChild,
  indexEntryIsLast,
  indexEntryName,
  indexEntryNameFlags,
  indexEntryNamespace,
  indexEntryRecord,
  scanIndexNode,
} from '../../../../src/fs/ntfs/index-node.js';
import { decodeIndexRoot, indexVcnToOffset } from '../../../../src/fs/ntfs/index-root.js';
import { lznt1Decompress } from '../../../../src/fs/ntfs/lznt1.js';
import { openNtfs } from '../../../../src/fs/ntfs/ntfs.js';
import { applyFixups, decodeMftRecordHeader } from '../../../../src/fs/ntfs/record.js';
import { decodeReparsePoint } from '../../../../src/fs/ntfs/reparse-point.js';
import { coalesceRuns, decodeRunlist } from '../../../../src/fs/ntfs/runlist.js';
import { decodeStandardInformation } from '../../../../src/fs/ntfs/standard-information.js';
import {
  collateFileNames,
  compareUpcase,
  decodeUpcase,
  isAsciiCompatible,
} from '../../../../src/fs/ntfs/upcase.js';
import { decodeVolumeInformation } from '../../../../src/fs/ntfs/volume-information.js';
import { ByteView } from '../../../../src/io/index.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { image, VOLUMES } from './fixture.js';

const img = Object.fromEntries(VOLUMES.map((v) => [v, image(v)])) as Record<
  (typeof VOLUMES)[number],
  Uint8Array
>;
const view = (b: Uint8Array | number[], base = 0) =>
  new ByteView(b instanceof Uint8Array ? b : new Uint8Array(b), base);
const throwsCode = (f: () => unknown, code: string) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe(code);
    return e as BootprobeError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
};

describe('boot sector — ntfs.md §1', () => {
  it('decodes mkntfs boot sectors: sector, cluster, record and index record sizes', () => {
    expect(decodeNtfsBootSector(view(img['ntfs-a'].subarray(0, 512)))).toMatchObject({
      bytesPerSector: 512,
      clusterSize: 4096,
      recordSize: 1024,
      indexRecordSize: 4096,
      totalSectors: 16 * 2048 - 1, // §1: partition sectors − 1
    });
    // 4096-byte sectors and 64 KiB clusters: record size 0xF4 = 2^12, index record 0xF4 too (§1 0x40, 0x44).
    const b = decodeNtfsBootSector(view(img['ntfs-b'].subarray(0, 512)));
    expect(b).toMatchObject({
      bytesPerSector: 4096,
      clusterSize: 65536,
      recordSize: 4096,
      indexRecordSize: 4096,
    });
    expect(img['ntfs-b'][0x40]).toBe(0xf4);
    expect(decodeNtfsBootSector(view(img['ntfs-c'].subarray(0, 512)))).toMatchObject({ clusterSize: 512 });
  });

  it('reads negative exponents for sectors per cluster and clusters per record', () => {
    expect(decodeSectorsPerCluster(0x80)).toBe(128);
    expect(decodeSectorsPerCluster(0xf8)).toBe(256);
    expect(decodeSectorsPerCluster(0xf4)).toBe(4096);
    expect(decodeClustersPerRecord(0xf6, 4096)).toBe(1024);
    expect(decodeClustersPerRecord(0x02, 512)).toBe(1024);
    expect(decodeClustersPerRecord(0x01, 4096)).toBe(4096);
  });

  it('refuses what is not NTFS or out of range, at the field offset', () => {
    const bad = (patch: (b: Uint8Array) => void, at: number) => {
      const b = img['ntfs-a'].slice(0, 512);
      patch(b);
      expect(throwsCode(() => decodeNtfsBootSector(view(b, 0x10000)), 'NTFS_BOOT_SECTOR').offset).toBe(
        0x10000 + at,
      );
    };
    bad((b) => b.set([0x46, 0x41, 0x54], 3), 3); // OEM id
    bad((b) => b.set([0, 0], 0x1fe), 0x1fe); // 55 AA
    for (const bps of [0, 256, 1000, 8192]) bad((b) => b.set([bps & 0xff, bps >> 8], 0x0b), 0x0b);
    bad((b) => {
      b[0x0d] = 0;
    }, 0x0d);
    bad((b) => {
      b[0x0d] = 0xf3;
    }, 0x0d); // 8192 sectors × 512 = 4 MiB clusters
    for (const r of [0, 0xf3, 0xf9, 0x7f])
      bad((b) => {
        b[0x40] = r;
      }, 0x40); // 0, 8 KiB, 128 B, 127 clusters
    bad((b) => {
      b[0x44] = 0xef;
    }, 0x44); // index records of 2^17 bytes
    bad((b) => b.set([0xff, 0xff, 0xff, 0], 0x30), 0x30); // $MFT past the volume
    throwsCode(() => decodeNtfsBootSector(view(img['ntfs-a'].slice(0, 100))), 'TRUNCATED');
  });

  it('a volume smaller than a sector or with its $MFT cut off fails to open with a code', async () => {
    await expect(openNtfs(new MemoryDevice(new Uint8Array(100)))).rejects.toMatchObject({
      code: 'NTFS_BOOT_SECTOR',
    });
    await expect(openNtfs(new MemoryDevice(img['ntfs-a'].slice(0, 8192)))).rejects.toBeInstanceOf(
      BootprobeError,
    );
  });
});

/** Record `n` of the fixture's $MFT, raw, and its volume offset ($MFT starts contiguous on a fresh mkntfs volume). */
function rawRecord(name: (typeof VOLUMES)[number], n: number) {
  const b = img[name];
  const boot = decodeNtfsBootSector(view(b.subarray(0, 512)));
  const at = boot.mftLcn * boot.clusterSize + n * boot.recordSize;
  return { bytes: b.slice(at, at + boot.recordSize), at };
}

describe('update sequence — ntfs.md §2.1', () => {
  it('puts the saved bytes back at the end of each 512-byte stride, also in 4096-byte records', () => {
    for (const [name, strides] of [
      ['ntfs-a', 2],
      ['ntfs-b', 8],
    ] as const) {
      const { bytes, at } = rawRecord(name, 0);
      const usa = bytes[4]! | (bytes[5]! << 8);
      expect(bytes[6]! | (bytes[7]! << 8)).toBe(strides + 1);
      const saved = bytes.slice(usa + 2, usa + 2 + 2 * strides);
      applyFixups(bytes, 'FILE', at);
      for (let i = 1; i <= strides; i++)
        expect(bytes.slice(i * 512 - 2, i * 512)).toEqual(saved.slice(2 * i - 2, 2 * i));
    }
  });

  it('a stride whose last two bytes differ from the sequence number is a torn write: NTFS_BAD_FIXUP there', () => {
    const { bytes, at } = rawRecord('ntfs-a', 5);
    bytes[1022] = bytes[1022]! ^ 1;
    const before = bytes.slice();
    expect(throwsCode(() => applyFixups(bytes, 'FILE', at), 'NTFS_BAD_FIXUP').offset).toBe(at + 1022);
    expect(bytes).toEqual(before); // nothing applied
  });

  it('an array that does not fit, an odd offset or a wrong count: NTFS_BAD_FIXUP; "BAAD" or no magic: NTFS_RECORD', () => {
    for (const patch of [
      (b: Uint8Array) => b.set([0x31, 0], 4), // odd USA offset
      (b: Uint8Array) => b.set([4, 0], 6), // count 4 for a 1024-byte record (3 expected)
      (b: Uint8Array) => b.set([0, 0], 6),
      (b: Uint8Array) => b.set([0xfe, 0x01], 4), // array past byte 510
    ]) {
      const { bytes, at } = rawRecord('ntfs-a', 0);
      patch(bytes);
      throwsCode(() => applyFixups(bytes, 'FILE', at), 'NTFS_BAD_FIXUP');
    }
    const { bytes, at } = rawRecord('ntfs-a', 0);
    bytes.set([0x42, 0x41, 0x41, 0x44]);
    expect(throwsCode(() => applyFixups(bytes, 'FILE', at), 'NTFS_RECORD').message).toContain('BAAD');
    throwsCode(() => applyFixups(new Uint8Array(3), 'FILE', 0), 'TRUNCATED');
  });
});

describe('MFT record header and attributes — ntfs.md §2, §3', () => {
  const fixed = (n: number) => {
    const { bytes, at } = rawRecord('ntfs-a', n);
    applyFixups(bytes, 'FILE', at);
    return view(bytes, at);
  };

  it('record 0 ($MFT): in use, NTFS 3.1 header with its own number, $SI/$FILE_NAME/$DATA/$BITMAP', () => {
    const v = fixed(0);
    const h = decodeMftRecordHeader(v);
    expect(h).toMatchObject({
      flags: 1,
      recordNumber: 0,
      baseRecord: 0,
      usaOffset: 0x30,
      allocatedSize: 1024,
    });
    const attrs = decodeAttributes(v, h.firstAttribute, h.usedSize, 0);
    expect(attrs.map((a) => a.type)).toEqual([0x10, 0x30, 0x80, 0xb0]);
    const data = attrs[2]!;
    expect(data).toMatchObject({ nonResident: true, lowestVcn: 0, name: '' });
    expect(data.dataSize).toBeLessThanOrEqual(data.allocatedSize);
    // Settles §3.2 for mkntfs: its system files carry the 72-byte NTFS 3.x value (files ntfs-3g creates later carry
    // 48 bytes: see the stat test of ntfs.test.ts).
    expect(attrs[0]!.value!.length).toBe(72);
    expect(decodeStandardInformation(view(attrs[0]!.value!))).toMatchObject({ ownerId: 0, usn: 0n });
    expect(decodeFileName(view(attrs[1]!.value!))).toMatchObject({
      name: '$MFT',
      namespace: 3,
      parentRecord: 5,
    });
  });

  it('record 5 (root) is a directory with $INDEX_ROOT "$I30" keyed by $FILE_NAME, collation 1', () => {
    const v = fixed(5);
    const h = decodeMftRecordHeader(v);
    expect(h.flags & 3).toBe(3);
    const root = decodeAttributes(v, h.firstAttribute, h.usedSize, 5).find((a) => a.type === 0x90)!;
    expect(root.name).toBe('$I30');
    const rv = view(root.value!, root.valueOffset);
    expect(decodeIndexRoot(rv)).toMatchObject({ indexedType: 0x30, collation: 1, recordSize: 4096 });
    const entries = decodeIndexNode(rv, 0x10);
    expect(entries[entries.length - 1]!.key).toBeNull();
  });

  it('hostile attribute headers: zero or overlong length, name past the attribute, short non-resident header', () => {
    const cases: [string, (v: ByteView, first: number) => void][] = [
      ['length 0', (v, f) => v.bytes.set([0, 0, 0, 0], f + 4)],
      ['length past used size', (v, f) => v.bytes.set([0, 4, 0, 0], f + 4)],
      [
        'unaligned length',
        (v, f) => {
          v.bytes[f + 4] = v.bytes[f + 4]! + 1;
        },
      ],
      ['name past attribute', (v, f) => v.bytes.set([0x7f, 0xf0, 0x00], f + 9)],
      ['no end marker', (v, f) => v.bytes.fill(0x11, f, 1020)],
    ];
    for (const [what, patch] of cases) {
      const v = fixed(0);
      const h = decodeMftRecordHeader(v);
      patch(v, h.firstAttribute);
      const e = throwsCode(() => decodeAttributes(v, h.firstAttribute, h.usedSize, 0), 'NTFS_ATTRIBUTE');
      expect(e.offset, what).toBeGreaterThanOrEqual(v.base);
    }
    const v = fixed(0);
    v.bytes.set([0xff, 0xff, 0, 0], 0x18); // used size past the record
    throwsCode(() => decodeMftRecordHeader(v), 'NTFS_RECORD');
  });
});

describe('runlist — ntfs.md §3.1', () => {
  const rl = (b: number[], vcn = 0, clusters = 1 << 20, highest?: number) =>
    decodeRunlist(new Uint8Array(b), vcn, clusters, 0x4000, highest);

  it('decodes length and signed LCN deltas, sparse runs leaving the LCN unchanged', () => {
    expect(rl([0x21, 0x18, 0x34, 0x56, 0x00])).toEqual([{ vcn: 0, length: 0x18, lcn: 0x5634 }]);
    // +0x60, then −0x10: a negative delta moves back on disk
    expect(rl([0x11, 0x30, 0x60, 0x11, 0x10, 0xf0, 0x00])).toEqual([
      { vcn: 0, length: 0x30, lcn: 0x60 },
      { vcn: 0x30, length: 0x10, lcn: 0x50 },
    ]);
    // a sparse run in the middle; the next delta is relative to LCN 16, not to the hole
    expect(rl([0x11, 0x04, 0x10, 0x01, 0x08, 0x11, 0x04, 0x02, 0x00], 100, 1 << 20, 115)).toEqual([
      { vcn: 100, length: 4, lcn: 16 },
      { vcn: 104, length: 8, lcn: null },
      { vcn: 112, length: 4, lcn: 18 },
    ]);
  });

  it('refuses bad headers, non-positive lengths, LCNs below 0 or past the volume, a wrong end VCN', () => {
    for (const b of [
      [0x10, 0x01, 0x00], // L = 0
      [0x19, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], // L = 9
      [0x11, 0x80, 0x01, 0x00], // negative length
      [0x11, 0x00, 0x01, 0x00], // length 0
      [0x11, 0x04, 0xf0, 0x00], // LCN −16
      [0x11, 0x04, 0x10], // no terminator
      [0x31, 0x04, 0x10], // run bytes past the end
      [0x17, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00], // 2^55 clusters: not a safe VCN sum
    ])
      throwsCode(() => rl(b), 'NTFS_RUNLIST');
    throwsCode(() => rl([0x11, 0x04, 0x10, 0x00], 0, 1 << 20, 9), 'NTFS_RUNLIST');
    throwsCode(() => rl([0x21, 0x04, 0x00, 0x10, 0x00], 0, 0x1003), 'NTFS_RUNLIST'); // LCN 4096..4099 of 4099
  });

  it('coalesces runs that continue on disk, and holes that continue each other', () => {
    expect(
      coalesceRuns([
        { vcn: 0, length: 2, lcn: 10 },
        { vcn: 2, length: 3, lcn: 12 },
        { vcn: 5, length: 1, lcn: 40 },
        { vcn: 6, length: 1, lcn: null },
        { vcn: 7, length: 2, lcn: null },
      ]),
    ).toEqual([
      { vcn: 0, length: 5, lcn: 10 },
      { vcn: 5, length: 1, lcn: 40 },
      { vcn: 6, length: 3, lcn: null },
    ]);
  });
});

describe('index nodes and entries — ntfs.md §4', () => {
  it('sub-node VCNs count clusters, or 512-byte blocks when index records are smaller than a cluster', () => {
    expect(indexVcnToOffset(6, 4096, 2048)).toBe(12288); // dfir: 2 KiB clusters
    expect(indexVcnToOffset(8, 4096, 65536)).toBe(4096); // 64 KiB clusters
    expect(indexVcnToOffset(1, 4096, 4096)).toBe(4096);
  });

  it('hostile nodes: entries outside the node, zero-length entry, key longer than the entry, no last entry', () => {
    const node = (entries: number[]) => {
      const b = new Uint8Array(16 + entries.length);
      b.set([16, 0, 0, 0, 16 + entries.length, 0, 0, 0]);
      b.set(entries, 16);
      return view(b, 0x9000);
    };
    const last = [0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0];
    expect(decodeIndexNode(node(last), 0)).toHaveLength(1);
    throwsCode(() => decodeIndexNode(node([...last.slice(0, 8), 0, 0, ...last.slice(10)]), 0), 'NTFS_INDEX');
    throwsCode(() => decodeIndexNode(node([...last.slice(0, 10), 0x80, 0, 0, 0, 0, 0]), 0), 'NTFS_INDEX');
    throwsCode(() => decodeIndexNode(node([...last.slice(0, 12), 1, 0, 0, 0]), 0), 'NTFS_INDEX'); // child, no room
    throwsCode(() => decodeIndexNode(node([...last.slice(0, 12), 0, 0, 0, 0]), 0), 'NTFS_INDEX');
    const far = node(last);
    far.bytes.set([0xff, 0, 0, 0], 4);
    throwsCode(() => decodeIndexNode(far, 0), 'NTFS_INDEX');
  });

  /** An entry for record `rec` (sequence 3) named `name` in `ns`, with `child` when given; 8-byte aligned. */
  const keyed = (rec: number, name: string, ns: number, flags: number, child?: number) => {
    const keyLen = 0x42 + 2 * name.length;
    const len = Math.ceil((16 + keyLen + (child === undefined ? 0 : 8)) / 8) * 8;
    const e = new Uint8Array(len);
    const dv = new DataView(e.buffer);
    dv.setUint32(0, rec, true);
    dv.setUint16(4, 1, true); // record bits 32-47: record 2^32 + rec
    dv.setUint16(6, 3, true);
    dv.setUint16(8, len, true);
    dv.setUint16(10, keyLen, true);
    dv.setUint16(12, child === undefined ? 0 : 1, true);
    dv.setUint32(16 + 0x38, flags, true);
    e[16 + 0x40] = name.length;
    e[16 + 0x41] = ns;
    for (let i = 0; i < name.length; i++) dv.setUint16(16 + 0x42 + 2 * i, name.charCodeAt(i), true);
    if (child !== undefined) dv.setUint32(len - 8, child, true);
    return [...e];
  };
  const nodeOf = (...entries: number[][]) => {
    const body = entries.flat();
    const b = new Uint8Array(16 + body.length);
    new DataView(b.buffer).setUint32(0, 16, true);
    new DataView(b.buffer).setUint32(4, 16 + body.length, true);
    b.set(body, 16);
    return new ByteView(b, 0x9000, 'test.node');
  };
  const lastEntry = [0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0];

  it('a scanned node reads each entry in place as decodeIndexNode decodes it', () => {
    const v = nodeOf(keyed(40, 'Windows', 1, 0x10000000, 7), keyed(41, 'WINDOWS', 2, 0x10000000), lastEntry);
    const { offsets } = scanIndexNode(v, 0);
    const objects = decodeIndexNode(v, 0);
    expect(offsets).toHaveLength(3);
    expect(offsets.map((p) => indexEntryIsLast(v, p))).toEqual([false, false, true]);
    expect(offsets.map((p) => indexEntryChild(v, p))).toEqual(objects.map((e) => e.child));
    expect(offsets.map((p) => indexEntryRecord(v, p))).toEqual(objects.map((e) => e.record));
    expect(indexEntryRecord(v, offsets[0]!)).toBe(2 ** 32 + 40);
    expect(offsets.slice(0, 2).map((p) => indexEntryName(v, p))).toEqual(['Windows', 'WINDOWS']);
    expect(offsets.slice(0, 2).map((p) => indexEntryNamespace(v, p))).toEqual([1, 2]);
    expect(indexEntryNameFlags(v, offsets[1]!)).toBe(0x10000000);
    expect(objects.map((e) => e.key?.name ?? null)).toEqual(['Windows', 'WINDOWS', null]);
    expect(objects[0]!.offset).toBe(0x9000 + offsets[0]!);
  });

  it('a key whose name runs past its key length: NTFS_INDEX at the name length, before any name is read', () => {
    const bad = keyed(40, 'Windows', 1, 0);
    bad[16 + 0x40] = 40; // 40 characters in a 7-character key
    const e = throwsCode(() => scanIndexNode(nodeOf(bad, lastEntry), 0), 'NTFS_INDEX');
    expect(e.offset).toBe(0x9000 + 16 + 16 + 0x40);
    expect(e.message).toMatch(/does not fit/);
  });

  it('a child VCN beyond the safe integers: NTFS_INDEX when scanned', () => {
    const huge = keyed(40, 'a', 1, 0, 1);
    huge.splice(huge.length - 8, 8, 0, 0, 0, 0, 0, 0, 0x40, 0);
    throwsCode(() => scanIndexNode(nodeOf(huge, lastEntry), 0), 'NTFS_INDEX');
  });
});

describe('$ATTRIBUTE_LIST entries — ntfs.md §5', () => {
  const entry = (type: number, len: number, name = '') => {
    const b = new Uint8Array(len);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, type, true);
    dv.setUint16(4, len, true);
    b[6] = name.length;
    b[7] = 0x1a;
    dv.setBigUint64(8, 7n, true);
    dv.setBigUint64(0x10, (3n << 48n) | 99n, true);
    dv.setUint16(0x18, 4, true);
    for (let i = 0; i < name.length; i++) dv.setUint16(0x1a + 2 * i, name.charCodeAt(i), true);
    return [...b];
  };
  it('decodes type, name, lowest VCN, record reference and attribute id', () => {
    expect(decodeAttributeList(view([...entry(0x80, 0x20), ...entry(0x80, 0x28, 'ads')]))).toEqual([
      { type: 0x80, name: '', lowestVcn: 7, record: 99, sequence: 3, attributeId: 4 },
      { type: 0x80, name: 'ads', lowestVcn: 7, record: 99, sequence: 3, attributeId: 4 },
    ]);
  });
  it('an entry length of 0, past the list, or a name past the entry: NTFS_ATTRIBUTE', () => {
    throwsCode(
      () => decodeAttributeList(view(entry(0x80, 0x20).map((x, i) => (i === 4 ? 0 : x)))),
      'NTFS_ATTRIBUTE',
    );
    throwsCode(
      () => decodeAttributeList(view(entry(0x80, 0x20).map((x, i) => (i === 4 ? 0x40 : x)))),
      'NTFS_ATTRIBUTE',
    );
    throwsCode(
      () => decodeAttributeList(view(entry(0x80, 0x20).map((x, i) => (i === 6 ? 9 : x)))),
      'NTFS_ATTRIBUTE',
    );
  });
});

describe('$UpCase and COLLATION_FILENAME — ntfs.md §4', () => {
  let up: Uint16Array = new Uint16Array(0);
  beforeAll(async () => {
    const fs = await openNtfs(new MemoryDevice(img['ntfs-a']));
    const r = await fs.openFile(await fs.lookup('/$UpCase'));
    up = decodeUpcase(await r.read(0, r.size), 0);
  });

  it('maps through the volume table: a→A, é→É, and leaves ß, ı, µ, ſ unchanged (no multi-character mapping)', () => {
    expect(up[0x61]).toBe(0x41);
    expect(up[0xe9]).toBe(0xc9);
    for (const u of [0xdf, 0x131, 0xb5, 0x17f]) expect(up[u]).toBe(u);
    expect(isAsciiCompatible(up)).toBe(true);
  });

  it('orders by upcased units, shorter prefix first, then by original units', () => {
    expect(compareUpcase(up, 'abc', 'ABC')).toBe(0);
    expect(compareUpcase(up, 'ab', 'abc')).toBe(-1);
    expect(compareUpcase(up, 'aB', 'a_')).toBe(-1); // 'B' 0x42 < '_' 0x5F after upcasing
    expect(collateFileNames(up, 'Ä', 'ä')).toBe(-1);
    expect(collateFileNames(up, 'ä', 'Ä')).toBe(1);
    expect(collateFileNames(up, 'x', 'x')).toBe(0);
  });

  it('the ASCII rule (null) orders an ASCII name against any key as the volume table does', () => {
    const keys = ['a', 'Z', '_x', 'ab', 'AB~', 'Ä', 'ä', 'é', 'ß', '\u0131', 'zz\u00ff', '[', '`', '{', ''];
    const names = ['a', 'A', 'b', 'Windows', 'BOOT', 'z{', '_', '`a', 'System32', '', 'ab'];
    for (const n of names)
      for (const k of keys) {
        expect(compareUpcase(null, n, k), `${n} / ${k}`).toBe(compareUpcase(up, n, k));
        expect(collateFileNames(null, n, k), `${n} / ${k}`).toBe(collateFileNames(up, n, k));
      }
  });

  it('a short $UpCase is refused', () => {
    throwsCode(() => decodeUpcase(new Uint8Array(1000), 0x1234), 'NTFS_ATTRIBUTE');
  });
});

describe('LZNT1 — ntfs.md §6 (MS-XCA §2.5)', () => {
  it('copies literals and back-references (offset/length split by position), overlapping copies repeat', () => {
    // flags 0b1000: three literals then a token; pos 3 → 4 offset bits: offset 3, length 9 → 0x2006
    const chunk = [0x05, 0xb0, 0x08, 0x61, 0x62, 0x63, 0x06, 0x20];
    expect(new TextDecoder().decode(lznt1Decompress(new Uint8Array(chunk), 12, 0))).toBe('abcabcabcabc');
    // an uncompressed chunk (bit 15 clear) of 3 bytes, then the 0 header ending the stream
    expect([...lznt1Decompress(new Uint8Array([0x02, 0x30, 1, 2, 3, 0, 0]), 3, 0)]).toEqual([1, 2, 3]);
  });

  it('a back-reference before the start of the chunk is corrupt: NTFS_COMPRESSION', () => {
    throwsCode(
      () => lznt1Decompress(new Uint8Array([0x03, 0xb0, 0x01, 0x00, 0x20]), 16, 0x8000),
      'NTFS_COMPRESSION',
    );
    throwsCode(
      () => lznt1Decompress(new Uint8Array([0x04, 0xb0, 0x02, 0x61, 0x06, 0x20]), 16, 0x8000),
      'NTFS_COMPRESSION',
    );
    throwsCode(() => lznt1Decompress(new Uint8Array([0x02, 0xb0, 0x02, 0x61]), 16, 0), 'NTFS_COMPRESSION');
  });
});

describe('$STANDARD_INFORMATION, $FILE_NAME, $VOLUME_INFORMATION, $REPARSE_POINT — ntfs.md §3.2, §3.3, §7.1', () => {
  it('short values are refused with the structure offset', () => {
    expect(
      throwsCode(() => decodeStandardInformation(view(new Uint8Array(40), 0x500)), 'NTFS_ATTRIBUTE').offset,
    ).toBe(0x500);
    const fn = new Uint8Array(0x44);
    fn[0x40] = 20; // 20 characters in 2 bytes of room
    throwsCode(() => decodeFileName(view(fn)), 'NTFS_ATTRIBUTE');
    throwsCode(() => decodeVolumeInformation(view(new Uint8Array(8))), 'NTFS_ATTRIBUTE');
  });

  it('version and flags; dirty means 0x0001 or 0x4000', () => {
    const vi = (flags: number) =>
      decodeVolumeInformation(view([0, 0, 0, 0, 0, 0, 0, 0, 3, 1, flags & 0xff, flags >> 8]));
    expect(vi(0x0080)).toEqual({ major: 3, minor: 1, flags: 0x80, dirty: false });
    expect(vi(0x0001).dirty).toBe(true);
    expect(vi(0x4000).dirty).toBe(true);
  });

  it('a reparse buffer whose names run past it gives the tag without a target', () => {
    const b = new Uint8Array(24);
    new DataView(b.buffer).setUint32(0, 0xa000000c, true);
    new DataView(b.buffer).setUint16(4, 16, true);
    new DataView(b.buffer).setUint16(10, 200, true);
    expect(decodeReparsePoint(view(b))).toMatchObject({ tag: 0xa000000c, target: null });
  });
});
