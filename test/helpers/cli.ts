// Runs the CLI in-process, capturing what it prints: the same code path as bin/bootprobe.cjs.
import type { CliIo } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes (for `cat`). */
  stdoutBytes: Uint8Array;
}

/** `hooks`: the entry point's optional hooks (CliIo.treeWalk), to see when a command calls them. */
export async function runCli(args: string[], hooks: Pick<CliIo, 'treeWalk'> = {}): Promise<CliResult> {
  const out: Uint8Array[] = [];
  const err: string[] = [];
  const enc = new TextEncoder();
  const code = await main(args, {
    ...hooks,
    stdout: {
      // A copy (new Uint8Array, not slice(): a Buffer's slice is a view): the CLI reuses its buffers once `done` is
      // called, as a Node stream calls it.
      write: (s: string | Uint8Array, done?: () => void) => {
        out.push(typeof s === 'string' ? enc.encode(s) : new Uint8Array(s));
        done?.();
      },
    },
    stderr: {
      write: (s: string | Uint8Array) => err.push(typeof s === 'string' ? s : new TextDecoder().decode(s)),
    },
  });
  const total = out.reduce((n, b) => n + b.length, 0);
  const stdoutBytes = new Uint8Array(total);
  let at = 0;
  for (const b of out) {
    stdoutBytes.set(b, at);
    at += b.length;
  }
  return { code, stdout: new TextDecoder().decode(stdoutBytes), stderr: err.join(''), stdoutBytes };
}
