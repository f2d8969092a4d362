// Random bytes for new identifiers (VHD unique ids, VHDX write and log GUIDs). Web Crypto is in browsers and in
// Node 20 alike, so the core keeps no Node import (DESIGN.md "Layers").

/** `n` cryptographically random bytes. */
export function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return b;
}

/** A random (version 4) GUID in Windows mixed-endian byte order, ready to store in a VHDX structure. */
export function randomGuidBytes(): Uint8Array {
  const b = randomBytes(16);
  // Data3 is stored little-endian: its high byte (version) is b[7]; the variant sits in b[8] (RFC 4122 §4.4).
  b[7] = (b[7]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}

/** A random (version 4) UUID in big-endian byte order, as VHD stores unique ids. */
export function randomUuidBytes(): Uint8Array {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  return b;
}
