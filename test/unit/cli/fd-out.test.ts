// stdout written straight to its descriptor (src/cli/fd-out.ts): the bytes, their order and the write callbacks
// are what Node's stream gives; a descriptor that would block hands over to the stream; a gone reader stops quietly.
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutStream } from '../../../src/cli/context.js';
import { FdOut, type WriteSync } from '../../../src/cli/fd-out.js';
import { tempDir } from '../../helpers/env.js';

const t = tempDir('bootprobe-fd-out-');
afterAll(() => t.cleanup());

const errno = (code: string) => Object.assign(new Error(code), { code });
const noStream = (): OutStream => {
  throw new Error('the stream must not be needed');
};
const noExit = () => {
  throw new Error('the reader is still there');
};

/** A stream that records what it was given, as process.stdout would take it. */
function recorder() {
  const got: string[] = [];
  const stream: OutStream = {
    write: (s: string | Uint8Array, done?: () => void) => {
      got.push(Buffer.from(s).toString());
      done?.();
    },
  };
  return { got, stream };
}

describe('FdOut — stdout as a file descriptor', () => {
  it('writes strings and bytes in order and calls each write’s callback once it returns', () => {
    const file = path.join(t.dir, 'out.txt');
    const fd = openSync(file, 'w');
    const out = new FdOut(fd, noStream, noExit);
    const calls: number[] = [];
    out.write('héllo ', () => calls.push(1));
    out.write(new TextEncoder().encode('wörld'), () => calls.push(2));
    out.write('\n');
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('héllo wörld\n');
    expect(calls).toEqual([1, 2]);
  });

  it('isTTY asks once, when first read (a progress bar asks; most runs never do)', () => {
    const asked: number[] = [];
    const out = new FdOut(2, noStream, noExit, (fd) => {
      asked.push(fd);
      return true;
    });
    expect(asked).toEqual([]);
    expect([out.isTTY, out.isTTY]).toEqual([true, true]);
    expect(asked).toEqual([2]);
  });

  it('a short write goes on from where it stopped', () => {
    const written: number[] = [];
    const dribble: WriteSync = (_fd, data, offset, length) => {
      const n = Math.min(3, length);
      written.push(...data.subarray(offset, offset + n));
      return n;
    };
    let done = 0;
    new FdOut(1, noStream, noExit, undefined, dribble).write(
      Uint8Array.of(1, 2, 3, 4, 5, 6, 7),
      () => done++,
    );
    expect(written).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(done).toBe(1);
  });

  it('a descriptor that would block (EAGAIN): the rest and every later write go through Node’s stream, in order', () => {
    const direct: number[] = [];
    let calls = 0;
    const blocks: WriteSync = (_fd, data, offset, length) => {
      if (++calls > 1) throw errno('EAGAIN');
      const n = Math.min(2, length);
      direct.push(...data.subarray(offset, offset + n));
      return n;
    };
    const { got, stream } = recorder();
    let made = 0;
    const out = new FdOut(
      1,
      () => {
        made++;
        return stream;
      },
      noExit,
      undefined,
      blocks,
    );
    let done = 0;
    out.write('abcdef', () => done++);
    out.write('gh', () => done++);
    expect(String.fromCharCode(...direct)).toBe('ab');
    expect(got).toEqual(['cdef', 'gh']);
    expect(made).toBe(1);
    expect(done).toBe(2);
  });

  it('the reader went away (EPIPE): told once, no callback; any other failure is thrown', () => {
    let gone = 0;
    let done = 0;
    new FdOut(
      1,
      noStream,
      () => gone++,
      undefined,
      () => {
        throw errno('EPIPE');
      },
    ).write('x', () => done++);
    expect([gone, done]).toEqual([1, 0]);
    const broken = new FdOut(1, noStream, noExit, undefined, () => {
      throw errno('EIO');
    });
    expect(() => broken.write('x')).toThrow(/^cannot write to standard output: EIO$/);
  });
});
