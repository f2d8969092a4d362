import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../../helpers/env.js';
import { parseRegText } from '../../helpers/reg-text.js';

const TEXT = [
  'Windows Registry Editor Version 5.00',
  '',
  '[HKEY_LOCAL_MACHINE\\T\\]',
  '@="root default"',
  '',
  '[HKEY_LOCAL_MACHINE\\T\\A]',
  '"dw"=dword:0000002a',
  '"bin"=hex:01,02,\\',
  '  03,04',
  '"sz"=hex(1):68,00,69,00,00,00',
  '"multi"=hex(7):61,00,00,00,00,00',
  '"str"="say \\"hi\\" C:\\\\x"',
  '"quote \\"name\\""=hex(0):',
  '',
  '[HKEY_LOCAL_MACHINE\\T\\A\\B]',
  '; a comment',
  '"big"=hex(ffffffff):ff',
  '',
].join('\n');

describe('.reg text parser (test/helpers/reg-text.ts)', () => {
  const root = parseRegText(TEXT);
  it('the first key is the root; later keys hang below it', () => {
    expect(root.name).toBe('T');
    expect(root.subkeys().map((k) => k.name)).toEqual(['A']);
    expect(root.subkey('a')?.subkey('B')?.name).toBe('B');
  });
  it('@ is the default value; quoted strings are UTF-16LE with a NUL', () => {
    const v = root.value('')!;
    expect(v.type).toBe(1);
    expect(Buffer.from(v.data).toString('utf16le')).toBe('root default\0');
  });
  it('dword:, hex:, hex(N): and line continuations', () => {
    const a = root.subkey('A')!;
    expect(a.value('dw')).toEqual({ name: 'dw', type: 4, data: new Uint8Array([42, 0, 0, 0]) });
    expect(a.value('BIN')).toEqual({ name: 'bin', type: 3, data: new Uint8Array([1, 2, 3, 4]) });
    expect(a.value('sz')?.type).toBe(1);
    expect(a.value('multi')?.type).toBe(7);
    expect(a.value('quote "name"')).toEqual({ name: 'quote "name"', type: 0, data: new Uint8Array(0) });
    expect(root.subkey('A')!.subkey('B')!.value('big')?.type).toBe(0xffffffff);
  });
  it('escapes in strings', () => {
    expect(Buffer.from(root.subkey('A')!.value('str')!.data).toString('utf16le')).toBe('say "hi" C:\\x\0');
  });
  it('rejects what it cannot read, naming the line', () => {
    expect(() => parseRegText('[HKLM\\T]\n"x"=bogus:1\n')).toThrow(/line 2/);
    expect(() => parseRegText('[HKLM\\T]\n"x"=hex:0g\n')).toThrow(/line 2/);
    expect(() => parseRegText('[HKLM\\T]\n[HKLM\\U]\n')).toThrow(/not below/);
    expect(() => parseRegText('"x"=dword:1\n')).toThrow(/before any key/);
  });
  it('reads a hivexregedit export', () => {
    const r = parseRegText(readFileSync(path.join(FIXTURES, 'bcd/known-answers-1.BCD.hivex.reg'), 'utf8'));
    expect(r.subkey('Objects')?.subkeys()).toHaveLength(13);
    expect(r.subkey('Description')?.value('System')?.data).toEqual(new Uint8Array([1, 0, 0, 0]));
  });
});
