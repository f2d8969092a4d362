// One error type for the whole toolkit (DESIGN.md "Rules that hold in every layer"; STYLE.md "One error type").
// Every failure a user can cause with bad input, a bad argument or an unsafe request is a BootprobeError
// with a stable `code`; the CLI maps `kind` to its exit code and prints `message` on one line.

/** What sort of failure: decides the CLI exit code (DESIGN.md "Command line"). */
export type ErrorKind =
  | 'corrupt' // input unreadable, truncated or inconsistent: exit 3
  | 'missing' // a file the input needs (a parent disk, a log) cannot be found: exit 3
  | 'unsupported' // valid input of a kind we do not handle: exit 3
  | 'usage' // a bad argument or a path that names nothing: exit 2
  | 'unsafe' // a write refused as unsafe: exit 4
  | 'io'; // the operating system refused a read or write: exit 3

/**
 * Stable error codes, one line each, grouped by layer. Callers test `err.code`; the list only grows.
 * Layers add their codes in their own section.
 */
export const ERROR_CODES = {
  // io/
  TRUNCATED: 'a structure runs past the end of the data that holds it',
  READ_OUT_OF_RANGE: 'a read past the end of a device',
  VALUE_TOO_LARGE: 'a 64-bit field does not fit in a safe integer',
  IO_ERROR: 'the operating system refused a read or write',
  FILE_NOT_FOUND: 'an input file does not exist',
  READ_ONLY: 'a write to a device opened read-only',
  // image/
  IMAGE_UNKNOWN: 'content is not a disk image we recognize',
  VHD_FOOTER: 'VHD footer missing or invalid',
  VHD_FOOTER_CHECKSUM: 'VHD footer checksum mismatch',
  VHD_DYNAMIC_HEADER: 'VHD dynamic header invalid',
  VHD_HEADER_CHECKSUM: 'VHD dynamic header checksum mismatch',
  VHD_BAT: 'VHD block allocation table invalid',
  VHD_BLOCK: 'VHD data block out of bounds',
  VHD_PARENT_MISSING: 'differencing VHD parent not found',
  VHD_PARENT_MISMATCH: 'differencing VHD parent has another unique id',
  VHDX_SIGNATURE: 'VHDX file type identifier missing',
  VHDX_HEADER: 'VHDX headers invalid',
  VHDX_HEADER_CRC: 'VHDX header checksum mismatch',
  VHDX_REGION_TABLE: 'VHDX region table invalid',
  VHDX_METADATA: 'VHDX metadata invalid',
  VHDX_BAT: 'VHDX block allocation table invalid',
  VHDX_BLOCK: 'VHDX payload block out of bounds',
  VHDX_LOG: 'VHDX log invalid or truncated',
  VHDX_LOG_PENDING: 'VHDX log must be replayed first',
  VHDX_PARENT_MISSING: 'differencing VHDX parent not found',
  VHDX_PARENT_MISMATCH: 'differencing VHDX parent has another DataWriteGuid',
  PARENT_CHAIN: 'parent chain too deep or circular',
  // volume/
  MBR_INVALID: 'MBR invalid',
  EBR_CHAIN: 'extended partition chain invalid',
  GPT_HEADER: 'GPT header invalid',
  GPT_ENTRIES: 'GPT partition entries invalid',
  PARTITION_RANGE: 'a partition lies outside the disk',
  PARTITION_CHOICE: 'no partition or several; choose one with -p',
  // fs/
  FS_UNKNOWN: 'no file system we can read on this volume',
  NTFS_BOOT_SECTOR: 'NTFS boot sector invalid',
  NTFS_RECORD: 'NTFS MFT record invalid',
  NTFS_BAD_FIXUP: 'NTFS update sequence mismatch',
  NTFS_ATTRIBUTE: 'NTFS attribute invalid',
  NTFS_RUNLIST: 'NTFS runlist invalid',
  NTFS_INDEX: 'NTFS index invalid',
  NTFS_COMPRESSION: 'NTFS compressed data invalid',
  NTFS_DIRTY: 'NTFS volume marked dirty (chkdsk pending)',
  FAT_BPB: 'FAT boot sector invalid',
  FAT_CHAIN: 'FAT cluster chain invalid',
  FAT_DIRENT: 'FAT directory entry invalid',
  FAT_COPIES_DIFFER: 'the FAT copies differ (the active copy is read)',
  PATH_NOT_FOUND: 'no file or directory at that path',
  NOT_A_DIRECTORY: 'a path component is not a directory',
  NOT_A_FILE: 'the path names a directory, not a file',
  // hive/ and bcd/
  HIVE_BASE_BLOCK: 'registry hive base block invalid',
  HIVE_CHECKSUM: 'registry hive base block checksum mismatch',
  HIVE_BIN: 'registry hive bin invalid',
  HIVE_CELL: 'registry hive cell invalid',
  HIVE_DIRTY: 'registry hive is dirty and its logs cannot be replayed',
  HIVE_LOG: 'registry hive log invalid',
  KEY_NOT_FOUND: 'no registry key at that path',
  BCD_INVALID: 'BCD store invalid',
  BCD_NOT_FOUND: 'no BCD store found',
  BCD_DEVICE: 'BCD device element invalid',
  HIVE_EDIT: 'a registry edit or hive write cannot be done (name, size or count out of range)',
  BCD_EDIT: 'a BCD repair cannot be applied to this store or target disk',
  // pe/
  PE_INVALID: 'PE image invalid',
  // cli/
  USAGE: 'bad command-line arguments',
  OUTPUT_EXISTS: 'the output file exists',
  UNSAFE_WRITE: 'a write refused as unsafe',
  // fs/ writes (issue 6)
  NTFS_LOG_NOT_CLEAN: 'NTFS $LogFile holds changes Windows has not checkpointed',
  NTFS_HIBERNATED: 'Windows on this NTFS volume is hibernated or fast-started',
  FAT_DIRTY: 'FAT volume marked dirty or with recorded disk errors',
  FS_WRITE_REFUSED: 'a file-system write bootprobe does not make (compressed, sparse, system file...)',
  FS_NO_SPACE: 'not enough free clusters or record space for the new file size',
  FS_WRITE_STALE: 'the volume changed between planning a write and committing it',
  FS_WRITE_VERIFY: 'a written file did not read back as written',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface BootprobeErrorOptions {
  /** Absolute byte offset in the device the layer reads, where the fault was found. */
  offset?: number | undefined;
  /** Dotted structure name, e.g. 'vhdx.header'. */
  structure?: string | undefined;
  /** A sentence saying what the user can do about it. */
  hint?: string | undefined;
  /** Machine-readable details, e.g. { expected, actual }. */
  data?: Record<string, unknown> | undefined;
  cause?: unknown;
  kind?: ErrorKind | undefined;
}

const DEFAULT_KIND: Partial<Record<ErrorCode, ErrorKind>> = {
  FILE_NOT_FOUND: 'missing',
  VHD_PARENT_MISSING: 'missing',
  VHDX_PARENT_MISSING: 'missing',
  IO_ERROR: 'io',
  READ_ONLY: 'unsafe',
  PARTITION_CHOICE: 'usage',
  PATH_NOT_FOUND: 'usage',
  NOT_A_DIRECTORY: 'usage',
  NOT_A_FILE: 'usage',
  KEY_NOT_FOUND: 'usage',
  USAGE: 'usage',
  OUTPUT_EXISTS: 'unsafe',
  UNSAFE_WRITE: 'unsafe',
  VHDX_LOG_PENDING: 'unsafe',
  NTFS_LOG_NOT_CLEAN: 'unsafe',
  NTFS_HIBERNATED: 'unsafe',
  FAT_DIRTY: 'unsafe',
  FS_WRITE_REFUSED: 'unsafe',
  FS_NO_SPACE: 'unsafe',
  FS_WRITE_STALE: 'unsafe',
  FS_WRITE_VERIFY: 'io',
};

export class BootprobeError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly offset: number | undefined;
  readonly structure: string | undefined;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: BootprobeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BootprobeError';
    this.code = code;
    this.kind = options.kind ?? DEFAULT_KIND[code] ?? 'corrupt';
    this.offset = options.offset;
    this.structure = options.structure;
    this.hint = options.hint;
    this.data = options.data;
  }

  /** The one line the CLI prints: what, where, what to do. */
  get line(): string {
    const where =
      this.offset === undefined || this.message.includes('0x') ? '' : ` (at offset ${hex(this.offset)})`;
    return `${this.message}${where}${this.hint ? `; ${this.hint}` : ''}`;
  }

  /** Adds context from an upper layer without losing the original code and offset. */
  withContext(prefix: string, extraOffset = 0): BootprobeError {
    const e = new BootprobeError(this.code, `${prefix}: ${this.message}`, {
      offset: this.offset === undefined ? undefined : this.offset + extraOffset,
      structure: this.structure,
      hint: this.hint,
      data: this.data,
      cause: this,
      kind: this.kind,
    });
    return e;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      kind: this.kind,
      message: this.message,
      offset: this.offset ?? null,
      structure: this.structure ?? null,
      hint: this.hint ?? null,
      ...(this.data ? { data: this.data } : {}),
    };
  }
}

export function isBootprobeError(e: unknown): e is BootprobeError {
  return e instanceof BootprobeError;
}

/** 0x-prefixed lower-case hex, as every message in this project prints offsets. */
export function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** A finding that does not stop the work (a bad checksum tolerated, a backup header used). */
export interface Finding {
  code: ErrorCode;
  message: string;
  offset?: number | undefined;
}
