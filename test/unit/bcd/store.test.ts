import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bcdToJson, readBcdStore, renderBcd } from '../../../src/bcd/index.js';
import { BootprobeError } from '../../../src/errors.js';
import { openHive } from '../../../src/hive/index.js';
import { FIXTURES } from '../../helpers/env.js';
import { parseRegText } from '../../helpers/reg-text.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(',');
const sz = (s: string) =>
  `hex(1):${hex(new Uint8Array(new Uint16Array([...`${s}\0`].map((c) => c.charCodeAt(0))).buffer))}`;
const multi = (xs: string[]) =>
  `hex(7):${hex(new Uint8Array(new Uint16Array([...`${xs.join('\0')}\0\0`].map((c) => c.charCodeAt(0))).buffer))}`;
const u64 = (n: number) => `hex(3):${hex(new Uint8Array(new BigUint64Array([BigInt(n)]).buffer))}`;
const bool = (v: boolean) => `hex(3):0${v ? 1 : 0}`;

/** A .reg text for a store: { '{guid}': [type, { 'xxxxxxxx': data }] }. */
function storeReg(objects: Record<string, [number, Record<string, string>]>): string {
  const lines = ['Windows Registry Editor Version 5.00', '', '[HKEY_LOCAL_MACHINE\\BCD00000000\\]', ''];
  lines.push('[HKEY_LOCAL_MACHINE\\BCD00000000\\Objects]', '');
  for (const [g, [type, elements]] of Object.entries(objects)) {
    const k = `HKEY_LOCAL_MACHINE\\BCD00000000\\Objects\\${g}`;
    lines.push(`[${k}]`, '', `[${k}\\Description]`, `"Type"=dword:${type.toString(16).padStart(8, '0')}`, '');
    lines.push(`[${k}\\Elements]`, '');
    for (const [t, data] of Object.entries(elements))
      lines.push(`[${k}\\Elements\\${t}]`, `"Element"=${data}`, '');
  }
  return lines.join('\n');
}

const BOOTMGR = '{9dea862c-5cdd-4e70-acc1-f32b344d4795}';
const LOADER = '{11111111-2222-3333-4444-555555555555}';
const RESUME = '{11111111-2222-3333-4444-555555555556}';
const HYPERV = '{7ff607e0-4395-11db-b0de-0800200c9a66}';
const MBR_PARTITION =
  'hex(3):00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,06,00,00,00,00,00,00,00,48,00,00,00,00,00,00,00,00,00,10,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,01,00,00,00,bb,6b,ba,dd,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00';

const SAMPLE = storeReg({
  [RESUME]: [
    0x10200004,
    { '21000001': MBR_PARTITION, '22000002': sz('\\hiberfil.sys'), '21000026': MBR_PARTITION },
  ],
  [LOADER]: [
    0x10200003,
    {
      '21000001': MBR_PARTITION,
      '12000004': sz('Windows 10'),
      '23000003': sz(RESUME),
      '25000020': u64(0),
      '46000010': bool(true),
    },
  ],
  [HYPERV]: [0x20200003, { '250000f3': u64(0), '250000f4': u64(1) }],
  [BOOTMGR]: [
    0x10100002,
    {
      '23000003': sz(LOADER.toUpperCase()),
      '24000001': multi([LOADER, '{b2721d73-1db4-4c62-bf78-c548a880142d}']),
      '23000006': sz(RESUME),
      '25000004': u64(30),
    },
  ],
});

describe('Objects and aliases — bcd.md §3, §5', () => {
  const store = readBcdStore(parseRegText(SAMPLE));
  it('orders objects by type, then GUID', () => {
    expect(store.objects.map((o) => o.id)).toEqual([BOOTMGR, LOADER, RESUME, HYPERV]);
  });
  it("resolves {default} from {bootmgr}'s default element, case-insensitively", () => {
    expect(store.defaultId).toBe(LOADER);
    expect(store.object('{default}')?.id).toBe(LOADER);
    expect(store.object(LOADER)?.alias).toBe('{default}');
    expect(store.object('{bootmgr}')?.alias).toBe('{bootmgr}');
    expect(store.object(RESUME)?.alias).toBeNull();
  });
  it('headings come from the type (and GUID for inherit objects)', () => {
    expect(store.objects.map((o) => o.typeName)).toEqual([
      'Windows Boot Manager',
      'Windows Boot Loader',
      'Resume from Hibernate',
      'Hypervisor Settings',
    ]);
  });
  it('class-2 names depend on the object: osdevice/filedevice, default/resumeobject', () => {
    expect(store.object(LOADER)?.element(0x21000001)?.name).toBe('osdevice');
    expect(store.object(RESUME)?.element(0x21000001)?.name).toBe('filedevice');
    expect(store.object(BOOTMGR)?.element(0x23000003)?.name).toBe('default');
    expect(store.object(LOADER)?.element(0x23000003)?.name).toBe('resumeobject');
  });
  it('an inherit object of class 2 uses the loader names ({hypervisorsettings})', () => {
    expect(store.object(HYPERV)?.elements.map((e) => e.name)).toEqual([
      'hypervisordebugtype',
      'hypervisordebugport',
    ]);
  });
  it('unnamed elements are kept as custom:xxxxxxxx, never dropped', () => {
    const r = store.object(RESUME)!.element(0x21000026)!;
    expect(r.name).toBe('custom:21000026');
    expect(r.named).toBe(false);
    expect(store.object(LOADER)?.element(0x46000010)?.name).toBe('custom:46000010');
  });
});

describe('Renderer layout — bcd.md §8', () => {
  const store = readBcdStore(parseRegText(SAMPLE));
  const text = renderBcd(store);
  it('prints the bcdedit listing: headings, 24-column names, continuation lines, blank line between objects', () => {
    expect(text).toBe(
      [
        'Windows Boot Manager',
        '--------------------',
        'identifier              {bootmgr}',
        'default                 {default}',
        'resumeobject            {11111111-2222-3333-4444-555555555556}',
        'displayorder            {default}',
        '                        {memdiag}',
        'timeout                 30',
        '',
        'Windows Boot Loader',
        '-------------------',
        'identifier              {default}',
        'description             Windows 10',
        'osdevice                unknown',
        'resumeobject            {11111111-2222-3333-4444-555555555556}',
        'nx                      OptIn',
        'custom:46000010         Yes',
        '',
        'Resume from Hibernate',
        '---------------------',
        'identifier              {11111111-2222-3333-4444-555555555556}',
        'filedevice              unknown',
        'custom:21000026         unknown',
        'filepath                \\hiberfil.sys',
        '',
        'Hypervisor Settings',
        '-------------------',
        'identifier              {hypervisorsettings}',
        'hypervisordebugtype     Serial',
        'hypervisordebugport     1',
        '',
      ].join('\n'),
    );
  });
  it('-v prints identifiers as GUIDs and partitions with disk signature and offset', () => {
    const v = renderBcd(store, { verbose: true });
    expect(v).toContain(`identifier              ${BOOTMGR}\n`);
    expect(v).toContain(`identifier              ${LOADER}\n`);
    expect(v).toContain('osdevice                partition={disk sig 0xddba6bbb, offset 1048576}\n');
  });
  it('resolvePartition names partitions', () => {
    expect(renderBcd(store, { resolvePartition: () => 'C:' })).toContain(
      'filedevice              partition=C:\n',
    );
  });
  it('a name of 24+ characters is followed by one space', () => {
    const s = readBcdStore(
      parseRegText(storeReg({ [LOADER]: [0x10200003, { '17000077': 'hex(3):75,00,00,15,00,00,00,00' }] })),
    );
    expect(renderBcd(s)).toContain('\nallowedinmemorysettings 0x15000075\n');
    const long = readBcdStore(parseRegText(storeReg({ [LOADER]: [0x10200003, { '2200011e': sz('x') }] })));
    expect(renderBcd(long)).toContain('\nhypervisorrootprocnumanodelps x\n');
  });
});

describe('JSON — bcdToJson', () => {
  it('gives identifier, alias, 8-digit hex types, names, display and raw hex', () => {
    const j = bcdToJson(readBcdStore(parseRegText(SAMPLE)));
    const loader = j.objects[1]!;
    expect(loader).toMatchObject({
      identifier: LOADER,
      alias: '{default}',
      type: '0x10200003',
      typeName: 'Windows Boot Loader',
    });
    expect(loader.elements[0]).toMatchObject({
      type: '0x12000004',
      name: 'description',
      display: 'Windows 10',
    });
    expect(loader.elements[0]!.raw).toBe('570069006e0064006f00770073002000310030000000');
    expect(loader.elements[1]!.device).toMatchObject({
      kind: 'partition',
      style: 'mbr',
      diskSignature: '0xddba6bbb',
      partitionOffset: 1048576,
    });
    expect(j.objects[0]!.elements.find((e) => e.name === 'displayorder')?.display).toBe(
      '{default}\n{memdiag}',
    );
  });
});

function expectError(reg: string, code: string, ...mentions: string[]): void {
  try {
    readBcdStore(parseRegText(reg));
  } catch (e) {
    expect(e).toBeInstanceOf(BootprobeError);
    expect((e as BootprobeError).code).toBe(code);
    for (const m of mentions) expect((e as BootprobeError).message).toContain(m);
    expect((e as BootprobeError).hint).toBeTruthy();
    return;
  }
  throw new Error(`expected ${code}`);
}

describe('Malformed stores — bcd.md §2, §7.8', () => {
  it('a hive without Objects is not a BCD store', () => {
    expectError('[HKEY_LOCAL_MACHINE\\X]\n"a"=dword:00000001\n', 'BCD_INVALID', 'Objects');
  });
  it('an object key that is not a GUID', () => {
    expectError(storeReg({ notaguid: [0x10200003, {}] }), 'BCD_INVALID', 'notaguid');
  });
  it('a missing or non-DWORD Type', () => {
    expectError(SAMPLE.replace('"Type"=dword:10200004', '"Type"=hex(3):01'), 'BCD_INVALID', RESUME, 'Type');
  });
  it('an element key that is not 8 hex digits', () => {
    expectError(storeReg({ [LOADER]: [0x10200003, { zz: u64(1) }] }), 'BCD_INVALID', LOADER, 'zz');
  });
  it('an element key without its Element value', () => {
    expectError(
      SAMPLE.replace(`"Element"=${u64(30)}`, '"Other"=hex(3):00'),
      'BCD_INVALID',
      BOOTMGR,
      '25000004',
    );
  });
  it('bad device bytes: BCD_DEVICE naming the object and the element', () => {
    const bad = storeReg({ [LOADER]: [0x10200003, { '21000001': 'hex(3):00,01,02' }] });
    expectError(bad, 'BCD_DEVICE', LOADER, '21000001', 'osdevice');
  });
  it('a wrong-length integer: BCD_INVALID naming the object and the element', () => {
    expectError(
      storeReg({ [BOOTMGR]: [0x10100002, { '25000004': 'hex(3):' }] }),
      'BCD_INVALID',
      BOOTMGR,
      'timeout',
    );
  });
  it('an unknown device type is not an error: it prints unknown and keeps its bytes', () => {
    const dev = `hex(3):${'00,'.repeat(16)}04,00,00,00,00,00,00,00,14,00,00,00,00,00,00,00,aa,bb,cc,dd`;
    const s = readBcdStore(parseRegText(storeReg({ [LOADER]: [0x10200003, { '11000001': dev }] })));
    expect(renderBcd(s)).toContain('\ndevice                  unknown\n');
    expect(renderBcd(s, { verbose: true })).toContain('unknown (04000000000000001400000000000000aabbccdd)');
  });
});

describe('known-answers.md §1 listing (fixture made by scripts/fixtures/bcd.sh)', () => {
  const dir = path.join(FIXTURES, 'bcd');
  const want = readFileSync(path.join(dir, 'known-answers-1.txt'), 'utf8');
  it('the store rebuilt from the listing renders identically (via its hivexregedit export)', () => {
    const reg = readFileSync(path.join(dir, 'known-answers-1.BCD.hivex.reg'), 'utf8');
    expect(renderBcd(readBcdStore(parseRegText(reg)))).toBe(want);
  });
  it('the hive file itself renders identically (via openHive)', () => {
    const hive = openHive(new Uint8Array(readFileSync(path.join(dir, 'known-answers-1.BCD'))));
    expect(renderBcd(readBcdStore(hive.root))).toBe(want);
  });
});
