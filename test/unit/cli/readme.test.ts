// README's quick start shows what `bootprobe preflight samples/template.vhd` prints: keep the two equal.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { REPO } from '../../helpers/env.js';

describe('README quick start', () => {
  it('the preflight listing is what the command prints on the shipped sample', async () => {
    const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const start = '$ npx bootprobe preflight samples/template.vhd\n';
    const at = readme.indexOf(start);
    expect(at).toBeGreaterThan(0);
    const shown = readme.slice(at + start.length, readme.indexOf('```', at));
    const sample = path.join(REPO, 'samples/template.vhd');
    const r = await runCli(['preflight', sample]);
    expect(r.code).toBe(1);
    expect(r.stdout.split(sample).join('samples/template.vhd')).toBe(shown);
  });
});
