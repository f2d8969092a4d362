import { describe, expect, it } from 'vitest';
import { safeName } from '../../../src/cli/safe-name.js';

describe('safeName — names from an image made safe for any host', () => {
  it('keeps ordinary names', () => {
    expect(safeName('bootmgr')).toBe('bootmgr');
    expect(safeName('Système Volume')).toBe('Système Volume');
  });
  it('replaces separators, NUL and control characters', () => {
    expect(safeName('a/b')).toBe('a_b');
    expect(safeName('a\\b')).toBe('a_b');
    expect(safeName('a\u0000b\u0001')).toBe('a_b_');
  });
  it('never yields . or .. or an empty name', () => {
    expect(safeName('..')).toBe('__');
    expect(safeName('.')).toBe('_');
    expect(safeName('')).toBe('_');
  });
  it('maps Windows reserved device names and characters', () => {
    expect(safeName('CON')).toBe('_CON');
    expect(safeName('lpt1.txt')).toBe('_lpt1.txt');
    expect(safeName('c:evil')).toBe('c_evil');
    expect(safeName('what?*')).toBe('what__');
  });
  it('keeps trailing dots and spaces visible', () => {
    expect(safeName('name. ')).toBe('name__');
  });
  it('shortens very long names, keeping them distinct', () => {
    const a = safeName('x'.repeat(1000));
    const b = safeName(`${'x'.repeat(999)}y`);
    expect(new TextEncoder().encode(a).length).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
  });
});
