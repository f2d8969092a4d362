// `bootprobe reg` and `reg export` end to end on the hive fixtures (made by hivexregedit, scripts/fixtures/hive.sh).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { FIXTURES } from '../../helpers/env.js';

const hive = path.join(FIXTURES, 'hive', 'types-v15.hiv');

describe('reg — list a key as `reg query` does', () => {
  it('lists the root: values with their types, then the subkeys', async () => {
    const r = await runCli(['reg', hive]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('HKEY_LOCAL_MACHINE\\TYPES-V15.HIV');
  });

  it('--json gives every value with its type name, decoded data and raw bytes', async () => {
    const root = JSON.parse((await runCli(['reg', '--json', hive])).stdout);
    expect(root.key).toBe('\\');
    const sub = root.subkeys[0];
    const j = JSON.parse((await runCli(['reg', '--json', hive, `\\${sub}`])).stdout);
    for (const v of j.values) {
      expect(v.typeName).toMatch(/^(REG_|0x)/);
      expect(v.raw).toMatch(/^[0-9a-f]*$/);
    }
  });

  it('a missing key is exit 2; a missing hive is exit 3', async () => {
    expect((await runCli(['reg', hive, '\\No\\Such\\Key'])).code).toBe(2);
    expect((await runCli(['reg', '/nonexistent/SYSTEM'])).code).toBe(3);
    expect((await runCli(['reg', 'export'])).code).toBe(2);
  });
});

describe('reg export — the bytes hivexregedit --export prints', () => {
  it('equals the saved hivexregedit export of the fixture', async () => {
    const want = readFileSync(path.join(FIXTURES, 'hive', 'types-v15.reg'));
    const prefix = /^\[([^\]\\]+\\[^\]\\]+)/m.exec(want.toString('latin1'))![1]!;
    const r = await runCli(['reg', 'export', '--prefix', prefix, hive]);
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.from(r.stdoutBytes).equals(want)).toBe(true);
  });
});
