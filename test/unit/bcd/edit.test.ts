import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bcdListingDiff, diffLines, unifiedDiff } from '../../../src/bcd/diff.js';
import {
  addBcdObject,
  type BcdChange,
  bcdChanges,
  bcdValue,
  deleteBcdElement,
  setBcdElement,
} from '../../../src/bcd/edit.js';
import { generalizeBcd } from '../../../src/bcd/generalize.js';
import {
  type BcdPartitionDescriptor,
  bootDevice,
  encodeBcdDevice,
  gptPartitionDevice,
  locateDevice,
  mbrPartitionDevice,
  readBcdStore,
  renderBcd,
} from '../../../src/bcd/index.js';
import { retargetBcd, type TargetDisk, targetDiskFromTable } from '../../../src/bcd/retarget.js';
import { BootprobeError } from '../../../src/errors.js';
import { type EditableHive, editableFromHive } from '../../../src/hive/edit.js';
import { openHive } from '../../../src/hive/index.js';
import { encodeHive } from '../../../src/hive/writer.js';
import { FIXTURES } from '../../helpers/env.js';
import { lintHive } from '../hive/regf-lint.js';

const STORE = path.join(FIXTURES, 'bcd/known-answers-1.BCD');
const LISTING = readFileSync(path.join(FIXTURES, 'bcd/known-answers-1.txt'), 'utf8');
const load = (): EditableHive => editableFromHive(openHive(new Uint8Array(readFileSync(STORE))));
const RESUME = '{b520e13c-48da-11e2-9a8b-00155d011700}';
const DEFAULT = '{b520e13b-48da-11e2-9a8b-00155d011700}';
const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
const MEMDIAG = '{b2721d73-1db4-4c62-bf78-c548a880142d}';
const SIGNATURE = 0xa9083c0a; // the fixture's partition= devices (scripts/fixtures/bcd.sh)
/** The host mounted the VHD as K: when the §2 listings were taken (known-answers.md §2). */
const asK = (d: BcdPartitionDescriptor) =>
  d.diskSignature === SIGNATURE && d.partitionOffset === 1048576n ? 'K:' : null;
const row = (c: BcdChange) => [c.object, c.element, c.before, c.after];
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('generalize — known-answers.md §2, row by row on the §1 store', () => {
  // The table of known-answers.md §2, in its order (objects as bcdedit lists them, elements by type).
  const TABLE = [
    ['{bootmgr}', 'device', 'partition=K:', 'locate=unknown'],
    ['{bootmgr}', 'timeout', '3', '30'],
    ['{default}', 'device', 'partition=K:', 'locate=\\Windows\\system32\\winload.exe'],
    ['{default}', 'recoveryenabled', null, 'No'],
    ['{default}', 'osdevice', 'partition=K:', 'locate=\\Windows'],
    ['{default}', 'detecthal', 'Yes', null],
    [RESUME, 'device', 'partition=K:', 'locate=\\Windows\\system32\\winresume.exe'],
    [RESUME, 'recoveryenabled', null, 'No'],
    [RESUME, 'filedevice', null, 'locate=\\hiberfil.sys'],
    [RESUME, 'debugoptionenabled', null, 'No'],
    // The table's "before" is `unknown`: bcdedit did not resolve {memdiag}'s partition on that host although it
    // resolved the others as K:. The fixture gives {memdiag} the same partition as the rest (scripts/fixtures/bcd.sh),
    // so it prints as K: here; the "after" column is what generalize decides.
    ['{memdiag}', 'device', 'partition=K:', 'locate=\\boot\\memtest.exe'],
  ];
  const source = load();
  const result = generalizeBcd(source, { render: { resolvePartition: asK } });

  it('changes exactly the rows of the table, in its order, with its before and after values', () => {
    expect(result.changes.map(row)).toEqual(TABLE);
    expect(result.notes).toEqual([]);
  });

  it('devices become the locate form of windeploy-uefi-locate.BCD (bcd.md §7.5 bytes)', () => {
    const loader = result.store.object('{default}')!;
    // bcd.md §7.5: "…08000000 00000000 1e000000 00000000 00000000 02000012 00000000 0000" after the options GUID.
    const expected = `${'00'.repeat(16)}08000000000000001e000000000000000000000002000012000000000000`;
    expect(hexOf(loader.element(0x11000001)!.raw)).toBe(expected);
    expect(hexOf(loader.element(0x21000001)!.raw)).toBe(expected.replace('02000012', '02000022'));
    expect(hexOf(encodeBcdDevice(locateDevice(0x12000002)))).toBe(expected);
    const resume = result.store.object(RESUME)!;
    expect(hexOf(resume.element(0x21000001)!.raw)).toBe(expected.replace('02000012', '02000022'));
    // New booleans are one byte, the timeout 8 (bcd.md §4).
    expect(Array.from(loader.element(0x16000009)!.raw)).toEqual([0]);
    expect(Array.from(result.store.object('{bootmgr}')!.element(0x25000004)!.raw)).toEqual([
      30, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it('the listing diff shows those lines and nothing else (bcdedit printed unresolved partitions as unknown)', () => {
    const before = readBcdStore(source.root);
    expect(renderBcd(before)).toBe(LISTING);
    const d = bcdListingDiff(before, result.store);
    const minus = d.diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'));
    const plus = d.diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    const pad = (n: string, v: string) => `${n.padEnd(24)}${v}`;
    expect(minus).toEqual([
      `-${pad('device', 'unknown')}`,
      `-${pad('timeout', '3')}`,
      `-${pad('device', 'unknown')}`,
      `-${pad('osdevice', 'unknown')}`,
      `-${pad('detecthal', 'Yes')}`,
      `-${pad('device', 'unknown')}`,
      `-${pad('device', 'unknown')}`,
    ]);
    expect(plus).toEqual(TABLE.filter((r) => r[3] !== null).map((r) => `+${pad(r[1]!, r[3]!)}`));
    expect(d.after).toBe(renderBcd(result.store));
  });

  it('leaves the source untouched, the setup ramdisk loader alone, and is idempotent', () => {
    expect(renderBcd(readBcdStore(source.root))).toBe(LISTING);
    const setup = result.store.object('{7619dcc9-fafe-11d9-b411-000476eba25f}')!;
    expect(setup.element(0x11000001)!.value.format).toBe('device');
    expect(renderBcd(result.store)).toContain('ramdisk=[boot]\\sources\\boot.wim');
    expect(setup.element(0x26000010)).not.toBeNull(); // detecthal stays on the setup entry
    const again = generalizeBcd(result.hive);
    expect(again.changes).toEqual([]);
  });

  it('the generalized store is written as a valid hive and reads back the same', () => {
    const bytes = encodeHive(result.hive);
    expect(
      lintHive(bytes, { leafBound: true, exactLargest: true, noLeaks: true, binTimestamp: true }),
    ).toEqual([]);
    const back = readBcdStore(openHive(bytes, { strict: true }).root);
    expect(renderBcd(back, { verbose: true })).toBe(renderBcd(result.store, { verbose: true }));
    expect(openHive(bytes).baseBlock.minorVersion).toBe(
      openHive(new Uint8Array(readFileSync(STORE))).baseBlock.minorVersion,
    );
  });

  it('stamps only the keys it changed when given a clock', () => {
    const r = generalizeBcd(source, { clock: 134000000000000000n });
    const els = (id: string) => r.hive.root.find(`Objects\\${id}\\Elements`)!;
    expect(els(BOOTMGR).subkey('11000001')!.lastWrittenRaw).toBe(134000000000000000n);
    expect(els(BOOTMGR).subkey('12000004')!.lastWrittenRaw).not.toBe(134000000000000000n);
  });

  it('other loaders, boot devices and missing objects are reported, not changed', () => {
    const h = load();
    // {bootmgr} on `boot` (windeploy-bios style): already portable.
    setBcdElement(h.root, BOOTMGR, 0x11000001, bcdValue.device(bootDevice()));
    deleteBcdElement(h.root, MEMDIAG, 0x11000001);
    const r = generalizeBcd(h, {
      loaders: [
        '{default}',
        '{7619dcc9-fafe-11d9-b411-000476eba25f}',
        '{00000000-0000-0000-0000-000000000001}',
      ],
    });
    expect(r.changes.filter((c) => c.object === '{bootmgr}').map((c) => c.element)).toEqual(['timeout']);
    expect(r.changes.some((c) => c.object === '{memdiag}')).toBe(false);
    expect(r.notes.join('\n')).toMatch(/boots from a ramdisk/);
    expect(r.notes.join('\n')).toMatch(/000000000001\} is not in the store/);
  });
});

describe('retarget — partition= devices follow the disk (bcd.md §7.3)', () => {
  const mbrTarget = (sig: number, partitions = [{ index: 1, start: 1048576 }]): TargetDisk => ({
    scheme: 'mbr',
    diskSignature: sig,
    partitions,
    systemPartition: 1,
    windowsPartition: partitions.at(-1)!.index,
  });

  it('a changed MBR signature: every stale device moves to the partition at the same offset', () => {
    const r = retargetBcd(load(), mbrTarget(0x12345678));
    expect(r.changes.map((c) => [c.object, c.element])).toEqual([
      ['{bootmgr}', 'device'],
      ['{default}', 'device'],
      ['{default}', 'osdevice'],
      [RESUME, 'device'],
      ['{memdiag}', 'device'],
    ]);
    for (const c of r.changes) {
      expect(c.before).toBe('partition={disk sig 0xa9083c0a, offset 1048576}');
      expect(c.after).toBe('partition={disk sig 0x12345678, offset 1048576}');
    }
    const raw = r.store.object('{default}')!.element(0x21000001)!.raw;
    expect(hexOf(raw)).toBe(hexOf(encodeBcdDevice(mbrPartitionDevice(0x12345678, 1048576n))));
    expect(r.notes).toEqual([]);
    // The ramdisk setup entry has a `boot` parent: untouched.
    expect(r.changes.some((c) => c.objectId === '{7619dcc9-fafe-11d9-b411-000476eba25f}')).toBe(false);
  });

  it('a device already on the target disk is kept; a missing partition on it is reported', () => {
    expect(retargetBcd(load(), mbrTarget(SIGNATURE)).changes).toEqual([]);
    const r = retargetBcd(load(), mbrTarget(SIGNATURE, [{ index: 1, start: 2097152 }]));
    expect(r.changes).toEqual([]);
    expect(r.notes.length).toBe(5);
    expect(r.notes[0]).toMatch(/names this disk but no partition of it/);
  });

  it('new layout: system role for {bootmgr}/{memdiag}, Windows role for loaders and resume', () => {
    const target: TargetDisk = {
      scheme: 'mbr',
      diskSignature: 0x0badf00d,
      partitions: [
        { index: 1, start: 1048576 * 2 },
        { index: 2, start: 1048576 * 600 },
      ],
      systemPartition: 1,
      windowsPartition: 2,
    };
    const r = retargetBcd(load(), target);
    const after = Object.fromEntries(r.changes.map((c) => [`${c.object} ${c.element}`, c.after]));
    expect(after).toEqual({
      '{bootmgr} device': 'partition={disk sig 0x0badf00d, offset 2097152}',
      '{default} device': 'partition={disk sig 0x0badf00d, offset 629145600}',
      '{default} osdevice': 'partition={disk sig 0x0badf00d, offset 629145600}',
      [`${RESUME} device`]: 'partition={disk sig 0x0badf00d, offset 629145600}',
      '{memdiag} device': 'partition={disk sig 0x0badf00d, offset 2097152}',
    });
  });

  it('MBR store onto a GPT disk: GPT partition devices with the disk and partition GUIDs', () => {
    const target: TargetDisk = {
      scheme: 'gpt',
      diskGuid: '{11111111-2222-3333-4444-555555555555}',
      partitions: [
        { index: 1, start: 1048576, guid: 'aaaaaaaa-0000-0000-0000-000000000001' },
        { index: 3, start: 1048576 * 300, guid: 'aaaaaaaa-0000-0000-0000-000000000003' },
      ],
      systemPartition: 1,
      windowsPartition: 3,
    };
    const r = retargetBcd(load(), target);
    const dev = r.store.object('{default}')!.element(0x11000001)!.raw;
    expect(hexOf(dev)).toBe(
      hexOf(encodeBcdDevice(gptPartitionDevice(target.diskGuid!, 'aaaaaaaa-0000-0000-0000-000000000003'))),
    );
    expect(r.changes.find((c) => c.object === '{bootmgr}')!.after).toBe(
      'partition={disk {11111111-2222-3333-4444-555555555555}, partition {aaaaaaaa-0000-0000-0000-000000000001}}',
    );
    // Retargeting again onto the same disk changes nothing.
    expect(retargetBcd(r.hive, target).changes).toEqual([]);
  });

  it('a WinRE ramdisk=[partition] and its ramdisksdidevice go to the recovery partition', () => {
    const h = load();
    const winre = '{00000000-1111-2222-3333-444444444444}';
    const opts = '{00000000-1111-2222-3333-444444444445}';
    const stale = mbrPartitionDevice(0x55555555, 1048576n * 900n);
    const setupRamdisk = readBcdStore(h.root)
      .object('{7619dcc9-fafe-11d9-b411-000476eba25f}')!
      .element(0x11000001)!;
    if (setupRamdisk.value.format !== 'device' || setupRamdisk.value.device.descriptor.kind !== 'ramdisk') {
      throw new Error('fixture ramdisk expected');
    }
    const ramdisk = {
      ...setupRamdisk.value.device,
      options: opts,
      descriptor: {
        ...setupRamdisk.value.device.descriptor,
        parent: stale.descriptor,
        path: '\\Recovery\\WindowsRE\\Winre.wim',
      },
    };
    addBcdObject(h.root, winre, 0x10200003);
    setBcdElement(h.root, winre, 0x11000001, bcdValue.device(ramdisk));
    setBcdElement(h.root, winre, 0x21000001, bcdValue.device(ramdisk));
    addBcdObject(h.root, opts, 0x30000000);
    setBcdElement(h.root, opts, 0x31000003, bcdValue.device(stale));
    setBcdElement(h.root, opts, 0x32000004, bcdValue.string('\\Recovery\\WindowsRE\\boot.sdi'));
    const target: TargetDisk = {
      ...mbrTarget(0x12345678, [
        { index: 1, start: 1048576 },
        { index: 2, start: 1048576 * 100 },
        { index: 4, start: 1048576 * 5000 },
      ]),
      windowsPartition: 2,
      recoveryPartition: 4,
    };
    const r = retargetBcd(h, target, {
      render: { resolvePartition: (d) => `disk${d.diskSignature?.toString(16)}@${d.partitionOffset}` },
    });
    const byKey = Object.fromEntries(r.changes.map((c) => [`${c.objectId} ${c.element}`, c.after]));
    expect(byKey[`${winre} device`]).toBe(
      `ramdisk=[disk12345678@${1048576 * 5000}]\\Recovery\\WindowsRE\\Winre.wim,${opts}`,
    );
    expect(byKey[`${winre} osdevice`]).toBe(byKey[`${winre} device`]);
    expect(byKey[`${opts} ramdisksdidevice`]).toBe(`partition=disk12345678@${1048576 * 5000}`);
    // Without a recovery partition, WinRE goes to the Windows partition.
    const r2 = retargetBcd(h, { ...target, recoveryPartition: null });
    expect(r2.changes.find((c) => c.objectId === opts)!.after).toBe(
      `partition={disk sig 0x12345678, offset ${1048576 * 100}}`,
    );
  });

  it('a target made from a partition table as volume/ reads it (signature as 0x-hex, bare GUIDs)', () => {
    const part = (index: number, start: number, guid: string | null) => ({
      index,
      start,
      size: 1048576,
      type: '0x07',
      typeName: 'NTFS',
      active: index === 1,
      guid,
      name: null,
      kind: 'primary' as const,
      attributes: null,
      entryOffset: null,
    });
    const mbr = targetDiskFromTable(
      {
        scheme: 'mbr',
        sectorSize: 512,
        diskSignature: '0x12345678',
        diskGuid: null,
        partitions: [part(1, 1048576, null)],
        warnings: [],
      },
      { system: 1, windows: 1 },
    );
    expect(retargetBcd(load(), mbr).changes[0]!.after).toBe(
      'partition={disk sig 0x12345678, offset 1048576}',
    );
    const gpt = targetDiskFromTable(
      {
        scheme: 'gpt',
        sectorSize: 512,
        diskSignature: null,
        diskGuid: '11111111-2222-3333-4444-555555555555',
        partitions: [part(1, 1048576, 'aaaaaaaa-0000-0000-0000-000000000001')],
        warnings: [],
      },
      { system: 1, windows: 1 },
    );
    expect(retargetBcd(load(), gpt).changes[0]!.after).toBe(
      'partition={disk {11111111-2222-3333-4444-555555555555}, partition {aaaaaaaa-0000-0000-0000-000000000001}}',
    );
    expect(() =>
      targetDiskFromTable(
        {
          scheme: 'none',
          sectorSize: 512,
          diskSignature: null,
          diskGuid: null,
          partitions: [],
          warnings: [],
        },
        { system: 1, windows: 1 },
      ),
    ).toThrowError(expect.objectContaining({ code: 'BCD_EDIT' }));
  });

  it('a bad target is a usage error (BCD_EDIT)', () => {
    const bad = [
      { ...mbrTarget(1), diskSignature: null },
      { ...mbrTarget(1), windowsPartition: 9 },
      { ...mbrTarget(1), scheme: 'gpt' as const },
    ];
    for (const t of bad) {
      expect(() => retargetBcd(load(), t)).toThrowError(
        expect.objectContaining({ code: 'BCD_EDIT', kind: 'usage' }),
      );
    }
  });
});

describe('edit primitives and change records — bcd.md §2, §4', () => {
  it('set, delete and add objects; changes list added and removed elements', () => {
    const h = load();
    const before = readBcdStore(h.root);
    setBcdElement(
      h.root,
      '{DEFAULT}'.replace('{DEFAULT}', DEFAULT.toUpperCase()),
      0x12000004,
      bcdValue.string('Renamed'),
    );
    deleteBcdElement(h.root, DEFAULT, 0x25000020);
    const id = '{12345678-0000-0000-0000-000000000000}';
    addBcdObject(h.root, id, 0x10200005);
    setBcdElement(h.root, id, 0x12000002, bcdValue.string('\\x.exe'));
    setBcdElement(h.root, BOOTMGR, 0x24000001, bcdValue.objectList([DEFAULT, id]));
    const changes = bcdChanges(before, readBcdStore(h.root));
    expect(changes.map(row)).toEqual([
      ['{bootmgr}', 'displayorder', '{default}, {7619dcc9-fafe-11d9-b411-000476eba25f}', `{default}, ${id}`],
      ['{default}', 'description', 'Windows Server 2012', 'Renamed'],
      ['{default}', 'nx', 'OptOut', null],
      [id, 'path', null, '\\x.exe'],
    ]);
    expect(h.root.find(`Objects\\${id}\\Elements\\12000002`)).not.toBeNull();
    expect(() => addBcdObject(h.root, id, 1)).toThrowError(BootprobeError);
    expect(() =>
      setBcdElement(h.root, '{99999999-0000-0000-0000-000000000000}', 1, bcdValue.boolean(true)),
    ).toThrowError(expect.objectContaining({ code: 'BCD_EDIT' }));
  });

  it('value encodings: integer 8 bytes, boolean 1 byte, strings and lists NUL-terminated', () => {
    expect(Array.from(bcdValue.integer(30n).data)).toEqual([30, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(bcdValue.boolean(true).data)).toEqual([1]);
    expect(bcdValue.string('ab').data.length).toBe(6);
    expect(bcdValue.objectList([]).data.length).toBe(2);
    expect(bcdValue.objectList([DEFAULT]).data.length).toBe(2 * 38 + 4);
    expect(bcdValue.integerList([1n, 2n]).data.length).toBe(16);
  });
});

describe('unified diff — the format of diff -u (outputs below are GNU diff 3.8 on the same inputs)', () => {
  it('one changed line', () => {
    expect(unifiedDiff('a\nb\nc\n', 'a\nB\nc\n')).toBe(
      '--- before\n+++ after\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n',
    );
  });
  it('nearby changes share a hunk, distant ones get their own', () => {
    const a = `${Array.from({ length: 20 }, (_, i) => i + 1).join('\n')}\n`;
    const b = a.replace('\n3\n', '\nthree\n').replace('\n9\n', '\nnine\n').replace('\n17\n', '\n');
    expect(unifiedDiff(a, b)).toBe(
      [
        '--- before',
        '+++ after',
        '@@ -1,12 +1,12 @@',
        ' 1',
        ' 2',
        '-3',
        '+three',
        ' 4',
        ' 5',
        ' 6',
        ' 7',
        ' 8',
        '-9',
        '+nine',
        ' 10',
        ' 11',
        ' 12',
        '@@ -14,7 +14,6 @@',
        ' 14',
        ' 15',
        ' 16',
        '-17',
        ' 18',
        ' 19',
        ' 20',
        '',
      ].join('\n'),
    );
  });
  it('two changes 6 unchanged lines apart share a hunk, 7 apart do not (2 × context)', () => {
    const a = `${Array.from({ length: 20 }, (_, i) => i + 1).join('\n')}\n`;
    const hunks = (b: string) =>
      unifiedDiff(a, b)
        .split('\n')
        .filter((l) => l.startsWith('@@'));
    expect(hunks(a.replace('\n3\n', '\nx\n').replace('\n10\n', '\ny\n'))).toEqual(['@@ -1,13 +1,13 @@']);
    expect(hunks(a.replace('\n3\n', '\nx\n').replace('\n11\n', '\ny\n'))).toEqual([
      '@@ -1,6 +1,6 @@',
      '@@ -8,7 +8,7 @@',
    ]);
  });
  it('a last line without newline, and an empty old text', () => {
    expect(unifiedDiff('x\ny', 'x\nz')).toBe(
      '--- before\n+++ after\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n\\ No newline at end of file\n',
    );
    expect(unifiedDiff('', 'p\nq\n')).toBe('--- before\n+++ after\n@@ -0,0 +1,2 @@\n+p\n+q\n');
    expect(unifiedDiff('same\n', 'same\n')).toBe('');
  });
  it('diffLines keeps a longest common subsequence', () => {
    const ops = diffLines(['a', 'b', 'c', 'd'], ['b', 'x', 'd', 'e']);
    expect(ops.filter((o) => o.op === ' ').map((o) => o.text)).toEqual(['b', 'd']);
    expect(ops.filter((o) => o.op !== '+').map((o) => o.text)).toEqual(['a', 'b', 'c', 'd']);
    expect(ops.filter((o) => o.op !== '-').map((o) => o.text)).toEqual(['b', 'x', 'd', 'e']);
  });
  it('past the table limit the middle is replaced whole, still a correct script', () => {
    const a = Array.from({ length: 2100 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 2100 }, (_, i) => (i % 2 ? `a${i}` : `b${i}`));
    const ops = diffLines(a, b);
    expect(ops.filter((o) => o.op !== '+').map((o) => o.text)).toEqual(a);
    expect(ops.filter((o) => o.op !== '-').map((o) => o.text)).toEqual(b);
  });
});
