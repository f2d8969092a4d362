// stdout and stderr as file descriptors written with write(2) (issue 7, start-up). Node's process.stdout is a
// stream object whose first use loads Node's whole stream machinery (Writable, Duplex, pipeline, compose,
// operators): ~2.5 ms of every start in a CPU profile of `cat \Boot\BCD`. On Linux and macOS Node writes a file,
// pipe or terminal stdout synchronously anyway; this writes the same bytes the same way without the stream.
//
// Not on Windows (bin.ts keeps Node's streams there): a console takes UTF-16 through libuv's tty code.

import { Buffer } from 'node:buffer';
import { writeSync } from 'node:fs';
import { BootprobeError } from '../errors.js';
import type { OutStream } from './context.js';

export type WriteSync = (fd: number, data: Uint8Array, offset: number, length: number) => number;

export class FdOut implements OutStream {
  /** Node's stream, once a write would block: a descriptor left non-blocking by the parent process. */
  private stream: OutStream | null = null;
  private tty: boolean | undefined;

  constructor(
    private readonly fd: number,
    /** Node's own stream for this descriptor (process.stdout), taken only if a write would block. */
    private readonly nodeStream: () => OutStream,
    /** The reader went away (EPIPE): `bootprobe ls -R IMG | head` stops quietly. */
    private readonly readerGone: () => void,
    /** Whether a descriptor is a terminal (node:tty's isatty, loaded only when asked: progress bars ask). */
    private readonly isatty: (fd: number) => boolean = () => false,
    private readonly write2: WriteSync = writeSync,
  ) {}

  get isTTY(): boolean {
    this.tty ??= this.isatty(this.fd);
    return this.tty;
  }

  write(s: string | Uint8Array, done?: (err?: Error | null) => void): void {
    if (this.stream) {
      this.stream.write(s, done);
      return;
    }
    const bytes = typeof s === 'string' ? Buffer.from(s) : s;
    let at = 0;
    try {
      while (at < bytes.length) at += this.write2(this.fd, bytes, at, bytes.length - at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        // The rest, and every later write, through Node's stream, which waits for the descriptor: still in order.
        this.stream = this.nodeStream();
        this.stream.write(bytes.subarray(at), done);
        return;
      }
      if (code === 'EPIPE') {
        this.readerGone();
        return;
      }
      // A full disk (ENOSPC), a quota, a broken device: the output failed, not the image (exit 3, one line).
      throw new BootprobeError(
        'IO_ERROR',
        `cannot write to ${this.fd === 2 ? 'standard error' : 'standard output'}: ${(e as Error).message}`,
        { hint: 'check the disk or device the output goes to', cause: e },
      );
    }
    done?.();
  }
}
