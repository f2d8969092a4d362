// BCD subjects: the known-answers §1 store as a file, and stores where `bcd` finds them inside disk images
// (samples/template.vhd, the generation 2 preflight fixture). Mutations aim at element values (device elements
// through bcd-device.ts, every other format by what it holds), element and object key names (a format nibble
// switched, a duplicate, a key that is not hex or not a GUID) and Description\Type, written back into the hive as a
// registry writer would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openFileSystem } from '../../src/fs/open-fs.js';
import { openImage } from '../../src/image/open-image.js';
import { MemoryDevice } from '../../src/io/memory-device.js';
import { partitionDevice, readPartitionTable } from '../../src/volume/partition-table.js';
import { findBcdStores } from '../../src/windows/find-bcd.js';
import { FIXTURES, REPO } from '../helpers/env.js';
import { gunzipFile } from '../helpers/gunzip.js';
import { mutateDevice } from './bcd-device.js';
import { fixNtfsRecords, le32, pick, type Rng, scan, u32, utf16z } from './bytes.js';
import {
  type HiveLayout,
  HiveWriter,
  hiveLayout,
  type KeySite,
  type ValueSite,
  withFreeBin,
} from './hive-layout.js';
import { fixRegf, ntfsRecordSize, ntfsRecordStarts } from './image-subjects.js';
import type { Region, Subject } from './subject.js';

/** {bootmgr} (bcd.md §5), a GUID every store knows. */
const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
/** Object types (bcd.md §3): boot manager, OS loader, resume, memory tester, inherit, device, unknown class. */
const OBJECT_TYPES = [
  0x10100002, 0x10200003, 0x10200004, 0x10200005, 0x20100000, 0x20200003, 0x30000000, 0x40000000,
];

interface BcdSites {
  layout: HiveLayout;
  elements: (ValueSite & { elementType: number })[];
  devices: (ValueSite & { elementType: number })[];
  types: ValueSite[];
  elementKeys: KeySite[];
  objectKeys: KeySite[];
  objectIds: string[];
}

function bcdSites(hive: Uint8Array): BcdSites {
  const layout = hiveLayout(hive);
  const elements = layout.values
    .filter(
      (v) => v.key.length === 4 && v.key[0] === 'Objects' && v.key[2] === 'Elements' && v.name === 'Element',
    )
    .map((v) => ({ ...v, elementType: Number.parseInt(v.key[3]!, 16) >>> 0 }));
  return {
    layout,
    elements,
    devices: elements.filter((e) => ((e.elementType >>> 24) & 0xf) === 1),
    types: layout.values.filter((v) => v.key.length === 3 && v.key[2] === 'Description' && v.name === 'Type'),
    elementKeys: layout.keys.filter((k) => k.path.length === 4 && k.path[2] === 'Elements'),
    objectKeys: layout.keys.filter((k) => k.path.length === 2 && k.path[0] === 'Objects'),
    objectIds: layout.keys
      .filter((k) => k.path.length === 2 && k.path[0] === 'Objects')
      .map((k) => k.path[1]!),
  };
}

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const HEX = '0123456789abcdef';

/** New bytes for a non-device element value, chosen by its format (bcd.md §4). */
function mutateElementValue(
  site: ValueSite & { elementType: number },
  next: Rng,
  ids: readonly string[],
  room: number,
): { regType: number; data: Uint8Array; label: string } {
  const format = (site.elementType >>> 24) & 0xf;
  const r = next() % 10;
  if (r === 0)
    return { regType: pick(next, [0, 1, 2, 3, 4, 7, 11, next()]), data: site.data, label: 'registry type' };
  if (r === 1) {
    const n = pick(next, [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 64, 300]);
    return {
      regType: site.regType,
      data: Uint8Array.from({ length: n }, () => next() & 0xff),
      label: 'random bytes',
    };
  }
  const text = (s: string) => utf16z(s);
  const guid = () =>
    pick(next, [...ids, BOOTMGR, '{00000000-0000-0000-0000-000000000000}', `{${rndGuid(next)}}`]);
  switch (format) {
    case 2: {
      const how = next() % 3;
      if (how === 0) {
        const n = pick(next, [1, 100, 255, 256, 1000, 4000, 8000]);
        let s = '';
        for (let i = 0; i < n; i++)
          s += String.fromCharCode(pick(next, [0x41, 0x5c, 0xd800, 0xdfff, 0xffff, 0, 0x7f]));
        return {
          regType: site.regType,
          data: text(s).subarray(0, Math.min(room, 2 * n + 2)),
          label: 'long string',
        };
      }
      if (how === 1)
        return { regType: site.regType, data: site.data.subarray(0, site.data.length - 2), label: 'no NUL' };
      return {
        regType: site.regType,
        data: site.data.subarray(0, site.data.length - 1),
        label: 'odd string',
      };
    }
    case 3: {
      const g = guid();
      const forms = [
        g,
        g.slice(1, -1),
        g.toUpperCase(),
        `${g}x`,
        g.replace(/[0-9a-f]/, 'g'),
        '{default}',
        '',
        `${g}\0${g}`,
      ];
      return { regType: site.regType, data: text(pick(next, forms)), label: 'object reference' };
    }
    case 4: {
      const n = pick(next, [0, 1, 2, 3, 100, 500]);
      const parts = Array.from({ length: n }, () =>
        next() % 7 === 0 ? pick(next, ['', 'x', '{default}', guid().slice(0, 20)]) : guid(),
      );
      const s = `${parts.join('\0')}\0`;
      const data = text(s);
      return {
        regType: site.regType,
        data: (next() % 4 === 0 ? data.subarray(0, data.length - 2) : data).subarray(0, room),
        label: `object list of ${n}`,
      };
    }
    case 5:
    case 6:
      return {
        regType: site.regType,
        data: Uint8Array.from({ length: pick(next, [0, 1, 2, 4, 8, 9, 16]) }, () => next() & 0xff),
        label: 'integer bytes',
      };
    case 7: {
      const n = pick(next, [0, 7, 8, 9, 16, 800, 4000]);
      return {
        regType: site.regType,
        data: Uint8Array.from({ length: Math.min(n, room) }, () => next() & 0xff),
        label: 'integer list',
      };
    }
    default:
      return { regType: site.regType, data: site.data.slice().reverse(), label: 'bytes reversed' };
  }
}

function rndGuid(next: Rng): string {
  const h = (n: number) => Array.from({ length: n }, () => HEX[next() % 16]).join('');
  return `${h(8)}-${h(4)}-${h(4)}-${h(4)}-${h(12)}`;
}

/** Key names are fixed-length in place: a name of the same length, or one character changed. */
function renameKey(
  w: HiveWriter,
  k: KeySite,
  siblings: readonly KeySite[],
  next: Rng,
  element: boolean,
): string {
  const old = k.path[k.path.length - 1]!;
  let name: string;
  const r = next() % 4;
  if (r === 0) {
    const same = siblings.filter((s) => s !== k && s.nameLength === k.nameLength);
    name = same.length ? pick(next, same).path[k.path.length - 1]! : old;
  } else if (r === 1) {
    const at = next() % old.length;
    name = old.slice(0, at) + pick(next, ['g', 'Z', '-', ' ', '\u00e9', '{']) + old.slice(at + 1);
  } else if (element) {
    // A format nibble switched: the same bytes read as another format (a string read as a device...).
    const nibble = HEX[r === 2 ? 1 + (next() % 7) : next() % 16]!;
    name =
      old[0] + nibble + (r === 2 ? old.slice(2) : Array.from({ length: 6 }, () => HEX[next() % 16]).join(''));
  } else name = r === 2 ? BOOTMGR : `{${rndGuid(next)}}`;
  w.bytes(k.nameAt, ascii(name.slice(0, k.nameLength).padEnd(k.nameLength, '0')));
  return element ? 'element key renamed' : 'object key renamed';
}

/** One BCD-aware mutation of the store through `w`; returns what it did. */
function mutateStore(s: BcdSites, w: HiveWriter, next: Rng): string {
  const r = next() % 100;
  if (r < 50 && s.devices.length) {
    const site = pick(next, s.devices);
    const m = mutateDevice(site.data, next);
    w.setValue(site, next() % 20 === 0 ? pick(next, [1, 4, 7, next()]) : site.regType, m.bytes);
    return `device ${site.key[3]}: ${m.label}`;
  }
  if (r < 80) {
    const site = pick(
      next,
      s.elements.filter((e) => !s.devices.includes(e)),
    );
    const m = mutateElementValue(site, next, s.objectIds, w.room);
    w.setValue(site, m.regType, m.data);
    return `element ${site.key[3]}: ${m.label}`;
  }
  if (r < 88) return renameKey(w, pick(next, s.elementKeys), s.elementKeys, next, true);
  if (r < 93) return renameKey(w, pick(next, s.objectKeys), s.objectKeys, next, false);
  const t = pick(next, s.types);
  const how = next() % 3;
  if (how === 0) w.setValue(t, 4, u32(pick(next, [...OBJECT_TYPES, 0, 0xffffffff, next()])));
  else if (how === 1) w.setValue(t, pick(next, [1, 3, 11]), t.data);
  else
    w.setValue(
      t,
      4,
      Uint8Array.from({ length: pick(next, [0, 2, 3, 8]) }, () => next() & 0xff),
    );
  return 'object type';
}

/** One or two store mutations into `patches`, the hive sitting at `origin` of the patched bytes. */
function storeMutator(hive: Uint8Array, origin: number) {
  const sites = bcdSites(hive);
  return (next: Rng, patches: Map<number, number>): string => {
    const w = new HiveWriter(hive, sites.layout, patches, origin);
    const labels = [mutateStore(sites, w, next)];
    if (next() % 3 === 0) labels.push(mutateStore(sites, w, next));
    return labels.join('; ');
  };
}

/** Cells the generic byte mutations aim at: the vk records and data cells of every element value. */
function elementRegions(hive: Uint8Array, origin: number): Region[] {
  const s = bcdSites(hive);
  return s.elements.flatMap((e) => [
    { at: origin + e.vkAt, len: 20 },
    ...(e.dataCellAt !== null ? [{ at: origin + e.dataCellAt, len: e.capacity + 4 }] : []),
  ]);
}

/** The BCD subjects (built once per process by the harness). */
export async function bcdSubjects(): Promise<Subject[]> {
  // A free bin appended so element values can grow past their cells (to 32 KiB, as in a bin enlarged to fit).
  const store = withFreeBin(
    new Uint8Array(readFileSync(path.join(FIXTURES, 'bcd', 'known-answers-1.BCD'))),
    32768,
  );
  const binsEnd = 4096 + le32(store, 40);
  const out: Subject[] = [
    {
      name: 'bcd-store',
      format: 'bcd',
      kind: 'bcd',
      bytes: store,
      hot: elementRegions(store, 0),
      cuts: [
        4096,
        4096 + 32,
        ...scan(store, 'hbin', 4096).map((at) => at + 32),
        binsEnd - 32768,
        binsEnd - 1,
      ],
      fix: fixRegf,
      mutate: storeMutator(store, 0),
    },
  ];

  // Stores where Windows Boot Manager finds them: the sample template (MBR, NTFS \Boot\BCD, not generalized) and
  // the generation 2 preflight fixture (GPT, FAT32 ESP \EFI\Microsoft\Boot\BCD, locate= devices).
  out.push(
    await imageStoreSubject(
      'bcd-template-vhd',
      new Uint8Array(readFileSync(path.join(REPO, 'samples', 'template.vhd'))),
    ),
  );
  out.push(
    await imageStoreSubject('bcd-gen2-vhdx', gunzipFile(path.join(FIXTURES, 'preflight', 'gen2.vhdx.gz'))),
  );
  return out;
}

/**
 * A disk image holding a store, mutated three cases in five in the store (found as `bcd` finds it, and located in the
 * image file by its bytes: the file systems keep it in one run, the containers in one block), else by the generic
 * mutator in the MBR and GPT header, the boot sector, NTFS records and what preflight reads on the Windows volume.
 */
async function imageStoreSubject(name: string, file: Uint8Array): Promise<Subject> {
  const image = await openImage(new MemoryDevice(file));
  const found = (await findBcdStores(image)).find((c) => 'entry' in c.found);
  if (!found || !('entry' in found.found)) throw new Error(`fuzz: ${name} holds no BCD store`);
  const { fs, entry } = found.found;
  const hive = await (await fs.openFile(entry)).read(0, entry.size);
  const inFile = (b: Uint8Array) =>
    Buffer.from(file.buffer, file.byteOffset, file.length).indexOf(Buffer.from(b));
  const origin = inFile(hive);
  if (origin < 0) throw new Error(`fuzz: the store of ${name} is not contiguous in the image file`);
  const hot: Region[] = [...elementRegions(hive, origin)];
  const cuts = [origin, origin + 4096, origin + hive.length - 1];
  const mbrAt = inFile(await image.read(0, 1024));
  if (mbrAt >= 0) hot.push({ at: mbrAt + 0x1b8, len: 72 }, { at: mbrAt + 512, len: 92 });
  for (const p of found.partition ? [found.partition] : []) {
    const vbrAt = inFile(await image.read(p.start, 512));
    if (vbrAt >= 0) {
      hot.push({ at: vbrAt, len: 0x5a });
      cuts.push(vbrAt);
    }
  }
  const records = ntfsRecordStarts(file, 0, file.length, scan(file, 'INDX', 4096, 64));
  hot.push(...records.slice(0, 48).map((at) => ({ at, len: 1024 })));
  // What preflight reads on the Windows volume (windows/windows-info.ts): the SYSTEM and SOFTWARE hives (base block and
  // bins), the kernel and loader headers and version resources, State.ini; found in the image file by their bytes.
  for (const p of [
    '/Windows/System32/config/SYSTEM',
    '/Windows/System32/config/SOFTWARE',
    '/Windows/System32/ntoskrnl.exe',
    '/Windows/System32/winload.exe',
    '/Windows/System32/winload.efi',
    '/Windows/Setup/State/State.ini',
  ]) {
    for (const part of (await readPartitionTable(image)).partitions) {
      const fs = await openFileSystem(partitionDevice(image, part), 'fuzz').catch(() => null);
      const e = await fs?.lookup(p).catch(() => null);
      if (!fs || !e || e.isDirectory) continue;
      const bytes = await (await fs.openFile(e)).read(0, Math.min(e.size, 1 << 20));
      const at = inFile(bytes.subarray(0, Math.min(bytes.length, 4096)));
      if (at >= 0) hot.push({ at, len: Math.min(bytes.length, 8192) });
    }
  }
  const storeMutate = storeMutator(hive, origin);
  return {
    name,
    format: 'bcd',
    kind: 'image',
    bytes: file,
    hot,
    cuts,
    fix: (dev, p) => fixNtfsRecords(dev, p, records, (at) => ntfsRecordSize(file, at)),
    mutate: (next, patches) => (next() % 5 < 2 ? null : storeMutate(next, patches)),
  };
}
