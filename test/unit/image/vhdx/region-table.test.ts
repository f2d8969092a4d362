// VHDX region table — vhd-vhdx.md §2.3: header, entries, table 1 else table 2, required unknown regions refused.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../../src/errors.js';
import { decodeRegionTable, REGION, readRegionTable } from '../../../../src/image/vhdx/region-table.js';
import { ByteView } from '../../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import {
  encodeRegionTable,
  KiB,
  MiB,
  REGION_GUID,
  type RegionSpec,
  typedError,
} from '../../../helpers/vhdx-builder.js';

const BAT: RegionSpec = { guid: REGION_GUID.BAT, fileOffset: 2 * MiB, length: MiB, required: false };
const META: RegionSpec = { guid: REGION_GUID.METADATA, fileOffset: 3 * MiB, length: MiB, required: false };

function file(t1: Uint8Array | null, t2: Uint8Array | null, size = 4 * MiB): MemoryDevice {
  const b = new Uint8Array(size);
  if (t1) b.set(t1, 192 * KiB);
  if (t2) b.set(t2, 256 * KiB);
  return new MemoryDevice(b);
}

describe('VHDX region table — vhd-vhdx.md §2.3 layout', () => {
  it('decodes the entries as qemu writes them (Required = 0 for BAT and metadata, known answer)', () => {
    const t = decodeRegionTable(new ByteView(encodeRegionTable([BAT, META]), 192 * KiB))!;
    expect(t.offset).toBe(192 * KiB);
    expect(t.entries).toEqual([
      { guid: REGION.BAT, fileOffset: 2 * MiB, length: MiB, required: false },
      { guid: REGION.METADATA, fileOffset: 3 * MiB, length: MiB, required: false },
    ]);
  });

  it('signature, CRC-32C over 64 KiB and entry count ≤ 2047 are all required', () => {
    const good = encodeRegionTable([BAT, META]);
    const badCrc = good.slice();
    badCrc[60000]! ^= 1;
    expect(decodeRegionTable(new ByteView(badCrc))).toBeNull();
    const badSig = good.slice();
    badSig[0] = 0;
    expect(decodeRegionTable(new ByteView(badSig))).toBeNull();
    const many = encodeRegionTable([BAT, META]);
    new DataView(many.buffer).setUint32(8, 2048, true);
    new DataView(many.buffer).setUint32(4, 0, true);
    expect(decodeRegionTable(new ByteView(many))).toBeNull();
  });
});

describe('reading the region table — vhd-vhdx.md §2.3 rules', () => {
  it('table 1 when valid; table 2 when table 1 is damaged (with a finding)', async () => {
    const t2 = encodeRegionTable([{ ...BAT, fileOffset: MiB }, META]);
    const m1 = await readRegionTable(file(encodeRegionTable([BAT, META]), t2), []);
    expect(m1.get(REGION.BAT)!.fileOffset).toBe(2 * MiB);
    const findings: Finding[] = [];
    const bad = encodeRegionTable([BAT, META]);
    bad[20]! ^= 1;
    const m2 = await readRegionTable(file(bad, t2), findings);
    expect(m2.get(REGION.BAT)!.fileOffset).toBe(MiB);
    expect(findings).toMatchObject([{ code: 'VHDX_REGION_TABLE', offset: 192 * KiB }]);
  });

  it('neither table valid: VHDX_REGION_TABLE', async () => {
    await typedError(readRegionTable(file(null, null), []), 'VHDX_REGION_TABLE');
  });

  it('an unknown region marked Required is refused; unknown optional regions are ignored', async () => {
    const unknown = { guid: '12345678-1234-1234-1234-123456789abc', fileOffset: MiB, length: MiB };
    const ok = await readRegionTable(
      file(encodeRegionTable([BAT, META, { ...unknown, required: false }]), null),
      [],
    );
    expect([...ok.keys()].sort()).toEqual([REGION.BAT, REGION.METADATA].sort());
    const e = await typedError(
      readRegionTable(file(encodeRegionTable([BAT, META, { ...unknown, required: true }]), null), []),
      'VHDX_REGION_TABLE',
    );
    expect(e.kind).toBe('unsupported');
    expect(e.offset).toBe(192 * KiB + 16 + 64);
  });

  it('a region that is misaligned, below 1 MiB, empty or past the end of the file is refused', async () => {
    for (const bad of [
      { ...BAT, fileOffset: 2 * MiB + 4096 },
      { ...BAT, fileOffset: 0 },
      { ...BAT, length: 0 },
      { ...BAT, length: 1000 },
      { ...BAT, fileOffset: 4 * MiB },
    ]) {
      await typedError(readRegionTable(file(encodeRegionTable([bad, META]), null), []), 'VHDX_REGION_TABLE');
    }
  });

  it('a missing BAT or metadata region, or one listed twice, is refused', async () => {
    await typedError(readRegionTable(file(encodeRegionTable([META]), null), []), 'VHDX_REGION_TABLE');
    await typedError(readRegionTable(file(encodeRegionTable([BAT]), null), []), 'VHDX_REGION_TABLE');
    await typedError(
      readRegionTable(file(encodeRegionTable([BAT, META, BAT]), null), []),
      'VHDX_REGION_TABLE',
    );
  });
});
