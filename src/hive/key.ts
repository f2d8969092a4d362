// The registry as the layers above see it (bcd/, windows/): keys and values, read-only, synchronous (a hive is parsed
// from bytes in memory). hive/ implements it over regf; tests may implement it over a .reg export.

/** Registry value types (regf.md §6). */
export const REG = {
  NONE: 0,
  SZ: 1,
  EXPAND_SZ: 2,
  BINARY: 3,
  DWORD: 4,
  DWORD_BIG_ENDIAN: 5,
  LINK: 6,
  MULTI_SZ: 7,
  RESOURCE_LIST: 8,
  FULL_RESOURCE_DESCRIPTOR: 9,
  RESOURCE_REQUIREMENTS_LIST: 10,
  QWORD: 11,
} as const;

export interface RegistryValue {
  /** '' for the key's default value. */
  readonly name: string;
  /** REG_* type as stored (may be any 32-bit number). */
  readonly type: number;
  /** The value's bytes exactly as stored (data length as recorded). */
  readonly data: Uint8Array;
}

export interface RegistryKey {
  readonly name: string;
  readonly lastWritten: Date | null;
  readonly className: string | null;
  /** Subkeys in stored (sorted) order. */
  subkeys(): RegistryKey[];
  /** Case-insensitive lookup of one subkey; null if absent. */
  subkey(name: string): RegistryKey | null;
  /** Values in stored order. */
  values(): RegistryValue[];
  /** Case-insensitive lookup; '' names the default value; null if absent. */
  value(name: string): RegistryValue | null;
}
