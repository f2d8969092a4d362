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

/**
 * Why zero runs are skipped (issue 7): VHDX checksums cover 4 KiB headers and a 64 KiB region table that are
 * nearly all zeros, and a CLI run checks them while its code is still cold (interpreted): the byte loop took
 * 2.7-3.0 ms over the region table in a fresh process with cached bytecode, 0.24-0.39 ms skipping its zeros.
 * n zero bytes multiply the CRC register by x^(8n) modulo the polynomial (the rule zlib's crc32_combine uses), so
 * a run of 64 or more zero bytes, found a 32-bit word at a time, costs a few multiplications.
 */
function run(table: Uint32Array, poly: number, data: Uint8Array, seed: number): number {
  let c = ~seed >>> 0;
  const n = data.length;
  const head = (4 - (data.byteOffset & 3)) & 3;
  const words = n < 128 ? null : new Int32Array(data.buffer, data.byteOffset + head, (n - head) >>> 2);
  for (let i = 0; i < n; ) {
    if (words && ((i - head) & 3) === 0 && i >= head) {
      let z = (i - head) >> 2;
      while (words[z] === 0) z++;
      const zeros = 4 * z + head - i;
      if (zeros >= 64) {
        c = timesXPow8n(poly, c, zeros);
        i += zeros;
        continue;
      }
    }
    c = table[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  }
  return ~c >>> 0;
}

/** c·x^(8n) mod the polynomial, reflected (bit 31 is x^0): square-and-multiply from x^8. */
function timesXPow8n(poly: number, c: number, n: number): number {
  for (let p = 0x800000; n > 0; n = Math.floor(n / 2)) {
    if (n & 1) c = mulModP(poly, p, c);
    p = mulModP(poly, p, p);
  }
  return c;
}

/** a·b modulo the polynomial, both reflected: shift-and-add, as zlib's multmodp. */
function mulModP(poly: number, a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
  }
  return p >>> 0;
}

/** CRC-32/ISO-HDLC (poly 0xEDB88320 reflected). `seed` continues a previous result. */
export function crc32(data: Uint8Array, seed = 0): number {
  crc32Table ??= makeTable(0xedb88320);
  return run(crc32Table, 0xedb88320, data, seed);
}

/** CRC-32C (poly 0x82F63B78 reflected, init and xorout 0xFFFFFFFF). */
export function crc32c(data: Uint8Array, seed = 0): number {
  crc32cTable ??= makeTable(0x82f63b78);
  return run(crc32cTable, 0x82f63b78, data, seed);
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
