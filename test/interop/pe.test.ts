// objdump (binutils) as the oracle for PE headers, on the PE stubs Debian's nsis package ships (x86 and x64,
// built by MinGW), and on the committed makensis-built fixture.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePe } from '../../src/pe/pe-file.js';
import { FIXTURES, requireTool } from '../helpers/env.js';

const STUBS = '/usr/share/nsis/Stubs';

function objdump(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of execFileSync('objdump', ['-p', file], { encoding: 'utf8' }).split('\n')) {
    const m =
      /^(Magic|MajorOSystemVersion|MinorOSystemVersion|MajorSubsystemVersion|MinorSubsystemVersion|Subsystem)\s+(\S+)/.exec(
        line,
      );
    if (m) out[m[1]!] = m[2]!;
    const f = /file format (\S+)/.exec(line);
    if (f) out.format = f[1]!;
  }
  return out;
}

describe('PE headers equal objdump -p', () => {
  beforeAll(() => {
    requireTool('objdump');
  });

  it('on every NSIS stub', () => {
    const stubs = readdirSync(STUBS).filter((f) => /-(x86|amd64)-/.test(f));
    expect(stubs.length).toBeGreaterThan(5);
    for (const p of [...stubs.map((f) => path.join(STUBS, f)), path.join(FIXTURES, 'pe', 'nsis-setup.exe')]) {
      const f = path.basename(p);
      const want = objdump(p);
      const pe = decodePe(new Uint8Array(readFileSync(p)));
      expect(pe.magic.toString(16).padStart(4, '0'), f).toBe(want.Magic);
      expect(pe.subsystemVersion, f).toBe(
        `${Number(want.MajorSubsystemVersion)}.${Number(want.MinorSubsystemVersion)}`,
      );
      expect(pe.osVersion, f).toBe(`${Number(want.MajorOSystemVersion)}.${Number(want.MinorOSystemVersion)}`);
      expect(pe.subsystem, f).toBe(Number.parseInt(want.Subsystem!, 16));
      expect(pe.machineName, f).toBe(want.format === 'pei-x86-64' ? 'x64' : 'x86');
    }
  });
});
