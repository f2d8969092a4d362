// The file backend: positional reads on a file descriptor (never a whole-file read), counted for --stats.
// One of the two places under src/ that imports Node (DESIGN.md "Layers"; the other is cli/).
//
// node:fs's callback functions, not node:fs/promises: loading fs/promises makes Node load its streams, readline and
// file watchers too (~0.8 ms of every start, measured interleaved), and a read path needs none of them.
//
// Reads are synchronous pread(2) calls behind the async interface unless `asyncReads` is set (issue 7). Measured on
// the benchmark machine: a 4 KiB read through the libuv thread pool costs 110-160 µs of hand-offs, readSync 8 µs; 1 MiB
// reads stream at 1.2 GB/s through the pool and 4.7 GB/s synchronously. A CLI run or a pre-flight issues dozens to
// thousands of small reads one after another, so the pool only adds latency. A long-lived server that must not block
// its event loop on a slow (network) disk passes asyncReads. Writes stay asynchronous.
import { Buffer } from 'node:buffer';
import {
  close,
  closeSync,
  fstat,
  fstatSync,
  fsync,
  ftruncate,
  open,
  openSync,
  read,
  readSync,
  type Stats,
  stat,
  write,
} from 'node:fs';
import { BootprobeError } from '../errors.js';
import { type BlockDevice, checkRange, type IoStats, type WritableDevice } from './block-device.js';

/** A file device opened for writing. */
export type WritableFileDevice = FileDevice & WritableDevice;

export interface FileDeviceOptions {
  writable?: boolean;
  sectorSize?: number;
  stats?: IoStats;
  /** Read through the thread pool (fs.read) instead of synchronous pread: see the file comment. */
  asyncReads?: boolean;
}

/** Reads of at least this many bytes get a buffer that is not zero-filled first: every byte is read or the read fails. */
const UNFILLED_FROM = 64 * 1024;

/** The settled promise of a synchronous read. */
const DONE: Promise<void> = Promise.resolve();

export class FileDevice implements BlockDevice {
  readonly sectorSize: number;
  write?: (offset: number, data: Uint8Array) => Promise<void>;
  private closed = false;
  private readonly asyncReads: boolean;
  /** Every read returns a new buffer this device never touches again (CachedDevice then keeps it without a copy). */
  readonly freshReads = true;

  private constructor(
    private readonly fd: number,
    public size: number,
    readonly path: string,
    private readonly stats: IoStats | undefined,
    options: FileDeviceOptions,
  ) {
    this.sectorSize = options.sectorSize ?? 512;
    this.asyncReads = options.asyncReads === true;
    if (options.writable) {
      this.write = async (offset, data) => {
        let done = 0;
        while (done < data.length) {
          const bytesWritten = await call<number>((cb) =>
            write(this.fd, data, done, data.length - done, offset + done, cb),
          );
          if (bytesWritten <= 0)
            throw new BootprobeError('IO_ERROR', `${this.path}: write at ${offset + done} failed`);
          done += bytesWritten;
        }
        if (this.stats) {
          this.stats.bytesWritten += data.length;
          this.stats.writes++;
        }
        if (offset + data.length > this.size) this.size = offset + data.length;
      };
    }
  }

  /**
   * Opens a file; FILE_NOT_FOUND when it does not exist, IO_ERROR for any other refusal. Synchronous open(2) and
   * fstat(2) unless `asyncReads`, as the reads are (see the file comment): the first request through the thread
   * pool also starts its threads, ~0.5 ms of a CLI run measured (0.70 vs 0.24 ms for open + fstat).
   */
  static async open(path: string, options: FileDeviceOptions = {}): Promise<FileDevice> {
    const flags = options.writable ? 'r+' : 'r';
    const sync = options.asyncReads !== true;
    let fd: number;
    try {
      fd = sync ? openSync(path, flags) : await call<number>((cb) => open(path, flags, cb));
    } catch (e) {
      throw fileError(path, e);
    }
    try {
      const st = sync ? fstatSync(fd) : await call<Stats>((cb) => fstat(fd, cb));
      if (st.isDirectory()) {
        throw new BootprobeError('USAGE', `${path} is a directory, not an image file`, { kind: 'usage' });
      }
      return new FileDevice(fd, st.size, path, options.stats, options);
    } catch (e) {
      if (sync) closeSync(fd);
      else await call((cb) => close(fd, cb));
      throw e instanceof BootprobeError ? e : fileError(path, e);
    }
  }

  /**
   * Opens an existing file for writing in place. A file the user marked read-only (no write permission bit, even
   * when running as root) or one the OS refuses to open writable is READ_ONLY (exit 4): the refusal is the answer,
   * not an I/O failure.
   */
  static async openWritable(
    path: string,
    options: Omit<FileDeviceOptions, 'writable'> = {},
  ): Promise<WritableFileDevice> {
    let mode: number;
    try {
      mode = (await call<Stats>((cb) => stat(path, cb))).mode;
    } catch (e) {
      throw fileError(path, e);
    }
    if ((mode & 0o222) === 0) {
      throw new BootprobeError('READ_ONLY', `${path} is read-only (mode ${(mode & 0o777).toString(8)})`, {
        hint: 'it was marked read-only on purpose; make a copy, or write a differencing child with --child',
      });
    }
    try {
      return (await FileDevice.open(path, { ...options, writable: true })) as WritableFileDevice;
    } catch (e) {
      const code = ((e as BootprobeError).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
        throw new BootprobeError('READ_ONLY', `${path} cannot be opened for writing (${code})`, {
          hint: 'check its permissions and the file system; or write a differencing child with --child',
          cause: e,
        });
      }
      throw e;
    }
  }

  /**
   * Creates a new file for writing. Without `overwrite` an existing file is OUTPUT_EXISTS (exit 4): nothing is
   * replaced unless the user asked for it.
   */
  static async create(
    path: string,
    options: Omit<FileDeviceOptions, 'writable'> & { overwrite?: boolean } = {},
  ): Promise<WritableFileDevice> {
    let fd: number;
    try {
      fd = await call<number>((cb) => open(path, options.overwrite ? 'w+' : 'wx+', cb));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BootprobeError('OUTPUT_EXISTS', `${path} exists`, {
          hint: 'remove it or choose another path (or pass --force where the command offers it)',
        });
      }
      throw fileError(path, e);
    }
    return new FileDevice(fd, 0, path, options.stats, { ...options, writable: true }) as WritableFileDevice;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(this.path, this.size, offset, length);
    // A plain Uint8Array over its own memory (never a pooled Buffer: callers copy with .slice(), which on a Buffer
    // would be a view).
    const buf =
      length >= UNFILLED_FROM
        ? new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length)
        : new Uint8Array(length);
    if (this.asyncReads) await this.readPooled(offset, buf);
    else this.readNow(offset, buf);
    return buf;
  }

  readInto(offset: number, buf: Uint8Array): Promise<void> {
    // Not async: the synchronous read hands back one settled promise (no promise of its own per read).
    if (this.asyncReads) return this.readPooled(offset, buf);
    try {
      this.readNow(offset, buf);
    } catch (e) {
      return Promise.reject(e);
    }
    return DONE;
  }

  /** Fills `buf` from `offset` with synchronous pread(2) calls (see the file comment). */
  private readNow(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length);
    for (let done = 0; done < buf.length; ) {
      let n: number;
      try {
        n = readSync(this.fd, buf, done, buf.length - done, offset + done);
      } catch (e) {
        throw fileError(this.path, e);
      }
      done += this.advanced(n, offset + done);
    }
    this.counted(buf.length);
  }

  /** readNow through the thread pool (asyncReads). */
  private async readPooled(offset: number, buf: Uint8Array): Promise<void> {
    checkRange(this.path, this.size, offset, buf.length);
    for (let done = 0; done < buf.length; ) {
      let n: number;
      try {
        n = await call<number>((cb) => read(this.fd, buf, done, buf.length - done, offset + done, cb));
      } catch (e) {
        throw fileError(this.path, e);
      }
      done += this.advanced(n, offset + done);
    }
    this.counted(buf.length);
  }

  /** `n` bytes came from a read at `at`; none means the file shrank under us. */
  private advanced(n: number, at: number): number {
    if (n === 0)
      throw new BootprobeError('TRUNCATED', `${this.path}: unexpected end of file at ${at}`, { offset: at });
    return n;
  }

  private counted(length: number): void {
    if (this.stats) {
      this.stats.bytesRead += length;
      this.stats.reads++;
    }
  }

  async flush(): Promise<void> {
    if (this.write) await call((cb) => fsync(this.fd, cb));
  }

  async truncate(size: number): Promise<void> {
    await call((cb) => ftruncate(this.fd, size, cb));
    this.size = size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Synchronous as the open was (a CLI run would otherwise start the thread pool just to close its image).
    if (this.asyncReads) await call((cb) => close(this.fd, cb));
    else closeSync(this.fd);
  }
}

/** A node:fs callback call as a promise of its first result (the file comment says why not fs/promises). */
function call<T = void>(
  start: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

function fileError(path: string, e: unknown): BootprobeError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') {
    return new BootprobeError('FILE_NOT_FOUND', `${path}: no such file`, {
      hint: 'check the path',
      cause: e,
    });
  }
  if (code === 'EISDIR') {
    return new BootprobeError('USAGE', `${path} is a directory, not a file`, { kind: 'usage', cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new BootprobeError('IO_ERROR', `${path}: ${msg}`, {
    hint: 'check the file and its permissions',
    cause: e,
  });
}
