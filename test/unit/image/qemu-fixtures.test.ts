import { describe, expect, it } from 'vitest';
import { fixtureBytes, manifest, openBytes, readAll, sha256 } from './helpers.js';

describe('qemu-img made images read as qemu-img converts them (issue 2 "Must show")', () => {
  for (const [name, want] of Object.entries(manifest)) {
    it(`${name}: virtual size and every byte equal qemu-img's`, async () => {
      const img = await openBytes(fixtureBytes(name), { path: name });
      expect(img.info.virtualSize).toBe(want.virtualSize);
      expect(img.size).toBe(want.virtualSize);
      expect(sha256(await readAll(img))).toBe(want.rawSha256);
    });
  }

  it('detects the format by content, not by name', async () => {
    const img = await openBytes(fixtureBytes('vhdx-dynamic-1m.vhdx'), { path: 'disk.img' });
    expect(img.info.format).toBe('vhdx');
    const vhd = await openBytes(fixtureBytes('vpc-fixed.vhd'), { path: 'disk.vhdx' });
    expect(vhd.info).toMatchObject({ format: 'vhd', variant: 'fixed', blockSize: null });
  });

  it('reports variant, block size, creator and sector sizes', async () => {
    const a = await openBytes(fixtureBytes('vhdx-dynamic-32m.vhdx'));
    expect(a.info).toMatchObject({
      format: 'vhdx',
      variant: 'dynamic',
      blockSize: 32 * 1024 * 1024,
      logicalSectorSize: 512,
    });
    expect(a.info.creator).toMatch(/^QEMU v/);
    const b = await openBytes(fixtureBytes('vhdx-fixed.vhdx'));
    expect(b.info.variant).toBe('fixed');
    const c = await openBytes(fixtureBytes('vpc-dynamic.vhd'));
    expect(c.info).toMatchObject({ format: 'vhd', variant: 'dynamic', blockSize: 2 * 1024 * 1024 });
    expect(c.info.creator).toMatch(/^qemu \d+\.\d+ \(Wi2k\)$/);
    const d = await openBytes(fixtureBytes('vpc-dynamic-forcesize.vhd'));
    expect(d.info.creator).toMatch(/^qem2 /);
  });

  it('maps unallocated ranges as zero and allocated ones as data', async () => {
    for (const name of ['vpc-dynamic.vhd', 'vhdx-dynamic-1m.vhdx']) {
      const img = await openBytes(fixtureBytes(name));
      const ext = await img.mapRange(0, img.size);
      expect(ext[0]).toMatchObject({ offset: 0, kind: 'data' });
      expect(ext.some((e) => e.kind === 'zero')).toBe(true);
      expect(ext.reduce((n, e) => n + e.length, 0)).toBe(img.size);
      for (const e of ext.filter((x) => x.kind === 'zero')) {
        const data = await img.read(e.offset, Math.min(e.length, 1 << 20));
        expect(data.every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('allocatedSize counts allocated blocks', async () => {
    const img = await openBytes(fixtureBytes('vhdx-dynamic-1m.vhdx'));
    // The content touches blocks 0, 1 (the 0xAB run crosses 1 MiB... and ends in block 1) and 5.
    expect(await img.allocatedSize()).toBe(3 * 1024 * 1024);
  });
});
