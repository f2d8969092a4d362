// CRC-32 (IEEE, used by GPT) and CRC-32C (Castagnoli, used by VHDX: vhd-vhdx.md §2.2). Table-driven, reflected.
function makeTable(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}

let crc32Table: Uint32Array | undefined;
let crc32cTable: Uint32Array | undefined;

function run(table: Uint32Array, data: Uint8Array, seed: number): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32/ISO-HDLC (poly 0xEDB88320 reflected). `seed` continues a previous result. */
export function crc32(data: Uint8Array, seed = 0): number {
  crc32Table ??= makeTable(0xedb88320);
  return run(crc32Table, data, seed);
}

/** CRC-32C (poly 0x82F63B78 reflected, init and xorout 0xFFFFFFFF). */
export function crc32c(data: Uint8Array, seed = 0): number {
  crc32cTable ??= makeTable(0x82f63b78);
  return run(crc32cTable, data, seed);
}

/**
 * CRC-32C of `data` with the 4-byte checksum field at `fieldAt` taken as zero, the rule for every VHDX
 * structure (header, region table, log entry).
 */
export function crc32cWithZeroField(data: Uint8Array, fieldAt: number): number {
  const before = crc32c(data.subarray(0, fieldAt));
  const zeros = crc32c(new Uint8Array(4), before);
  return crc32c(data.subarray(fieldAt + 4), zeros);
}
