// VHDX file type identifier and headers — vhd-vhdx.md §2.1, §2.2 (fields, CRC-32C, choosing the current header).
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../../src/errors.js';
import {
  decodeCreator,
  decodeVhdxHeader,
  hasLog,
  readCurrentHeader,
} from '../../../../src/image/vhdx/header.js';
import { ByteView } from '../../../../src/io/byte-view.js';
import { MemoryDevice } from '../../../../src/io/memory-device.js';
import { buildVhdx, encodeHeader, KiB, MiB, sealCrc, typedError } from '../../../helpers/vhdx-builder.js';

const DW = '6b29fc40-ca47-1067-b31d-00dd010662da';
const LOG = '01234567-89ab-cdef-0123-456789abcdef';

function fileWith(h1: Uint8Array | null, h2: Uint8Array | null): MemoryDevice {
  const b = new Uint8Array(MiB);
  if (h1) b.set(h1, 64 * KiB);
  if (h2) b.set(h2, 128 * KiB);
  return new MemoryDevice(b);
}

describe('VHDX header — vhd-vhdx.md §2.2 fields', () => {
  it('decodes every field at its offset (known answer)', () => {
    const raw = encodeHeader({
      sequenceNumber: 0x0102030405n,
      fileWriteGuid: '11111111-2222-3333-4444-555555555555',
      dataWriteGuid: DW,
      logGuid: LOG,
      logLength: 2 * MiB,
      logOffset: 3 * MiB,
    });
    const h = decodeVhdxHeader(new ByteView(raw, 64 * KiB), 1)!;
    expect(h).toMatchObject({
      slot: 1,
      offset: 64 * KiB,
      sequenceNumber: 0x0102030405n,
      fileWriteGuid: '11111111-2222-3333-4444-555555555555',
      dataWriteGuid: DW,
      logGuid: LOG,
      logVersion: 0,
      version: 1,
      logLength: 2 * MiB,
      logOffset: 3 * MiB,
    });
    expect(hasLog(h)).toBe(true);
    // Windows mixed-endian GUID: Data1 is stored little-endian.
    expect([...raw.subarray(32, 36)]).toEqual([0x40, 0xfc, 0x29, 0x6b]);
  });

  it('the checksum is CRC-32C over the 4 KiB with the field zeroed: one flipped byte makes the header invalid', () => {
    const raw = encodeHeader({ sequenceNumber: 1n, dataWriteGuid: DW });
    expect(decodeVhdxHeader(new ByteView(raw), 1)).not.toBeNull();
    raw[4000]! ^= 1;
    expect(decodeVhdxHeader(new ByteView(raw), 1)).toBeNull();
  });

  it('a signature other than "head" is not a header', () => {
    const raw = encodeHeader({ sequenceNumber: 1n, dataWriteGuid: DW });
    raw[0] = 0x48; // "Head"
    sealCrc(raw);
    expect(decodeVhdxHeader(new ByteView(raw), 1)).toBeNull();
  });

  it('LogGuid zero means no log', () => {
    const h = decodeVhdxHeader(new ByteView(encodeHeader({ sequenceNumber: 1n, dataWriteGuid: DW })), 2)!;
    expect(hasLog(h)).toBe(false);
    expect(h.logGuid).toBe('00000000-0000-0000-0000-000000000000');
  });

  it('a header shorter than 4 KiB is TRUNCATED, not a RangeError', async () => {
    const raw = encodeHeader({ sequenceNumber: 1n, dataWriteGuid: DW });
    expect(() => decodeVhdxHeader(new ByteView(raw.subarray(0, 100), 65536), 1)).toThrow(/runs past/);
  });
});

describe('VHDX file type identifier — vhd-vhdx.md §2.1', () => {
  it('the creator is the UTF-16LE string after "vhdxfile", up to its NUL', () => {
    const b = buildVhdx({ size: 4 * MiB, creator: 'Microsoft Windows 10.0.18363.0' }).bytes;
    expect(decodeCreator(new ByteView(b.subarray(0, 520)))).toBe('Microsoft Windows 10.0.18363.0');
  });
});

describe('choosing the current header — vhd-vhdx.md §2.2 procedure', () => {
  const h = (seq: bigint, extra: Partial<Parameters<typeof encodeHeader>[0]> = {}) =>
    encodeHeader({ sequenceNumber: seq, dataWriteGuid: DW, ...extra });

  it('both valid: the greater sequence number wins, whichever slot holds it', async () => {
    expect((await readCurrentHeader(fileWith(h(5n), h(6n)), [])).slot).toBe(2);
    expect((await readCurrentHeader(fileWith(h(9n), h(6n)), [])).slot).toBe(1);
  });

  it('sequence numbers compare as 64-bit values (no precision loss above 2^53)', async () => {
    expect((await readCurrentHeader(fileWith(h(2n ** 60n + 1n), h(2n ** 60n)), [])).slot).toBe(1);
  });

  it('one valid: it is current, and the bad slot is reported as a finding', async () => {
    const findings: Finding[] = [];
    const bad = h(99n);
    bad[100]! ^= 0xff;
    const cur = await readCurrentHeader(fileWith(bad, h(3n)), findings);
    expect(cur.slot).toBe(2);
    expect(findings).toMatchObject([{ code: 'VHDX_HEADER_CRC', offset: 64 * KiB }]);
  });

  it('none valid: VHDX_HEADER_CRC', async () => {
    const e = await typedError(readCurrentHeader(fileWith(null, null), []), 'VHDX_HEADER_CRC');
    expect(e.offset).toBe(64 * KiB);
  });

  it('equal sequence numbers: accepted when byte-identical (qemu, Disk2VHD), else VHDX_HEADER', async () => {
    const a = h(7n, { fileWriteGuid: '11111111-1111-1111-1111-111111111111' });
    expect((await readCurrentHeader(fileWith(a, a.slice()), [])).slot).toBe(1);
    const b = h(7n, { fileWriteGuid: '22222222-2222-2222-2222-222222222222' });
    await typedError(readCurrentHeader(fileWith(a, b), []), 'VHDX_HEADER');
  });

  it('Version other than 1 is refused (unsupported)', async () => {
    const e = await typedError(readCurrentHeader(fileWith(h(1n, { version: 2 }), null), []), 'VHDX_HEADER');
    expect(e.kind).toBe('unsupported');
  });

  it('LogVersion other than 0 is refused only when a log is pending', async () => {
    await typedError(
      readCurrentHeader(fileWith(h(1n, { logVersion: 1, logGuid: LOG }), null), []),
      'VHDX_LOG',
    );
    const raw = h(1n, { logVersion: 1 });
    expect((await readCurrentHeader(fileWith(raw, null), [])).logVersion).toBe(1);
  });

  it('a file too short for header 2 still opens on header 1', async () => {
    const b = new Uint8Array(128 * KiB + 100);
    b.set(h(1n), 64 * KiB);
    expect((await readCurrentHeader(new MemoryDevice(b), [])).slot).toBe(1);
  });
});
