// What every command shares: the global options, the I/O counters, and opening an image from a path.

import { BootprobeError } from '../errors.js';
import type { DiskImage } from '../image/disk-image.js';
import { openImage } from '../image/open-image.js';
import { type BlockDevice, type IoStats, newIoStats } from '../io/block-device.js';
import { CachedDevice } from '../io/cache.js';
import type { FileAccess } from '../io/file-access.js';
import { FileDevice } from '../io/file-device.js';
import { NodeFileAccess } from '../io/node-file-access.js';

export interface OutStream {
  /**
   * `done` is called once the stream no longer needs `s` (a Node Writable's write callback). A write declared with one
   * parameter takes no `done`: the stream is taken to be through with `s` when write returns (see writeOut).
   */
  write(s: string | Uint8Array, done?: (err?: Error | null) => void): unknown;
  isTTY?: boolean | undefined;
}

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  /**
   * Called when a command starts a walk that reads a record per file of a tree (`ls -l`, `extract -R`): the process
   * entry (bin.ts) keeps V8's young generation from growing there. Absent when the CLI runs inside another program.
   */
  treeWalk?: () => Promise<void>;
}

export interface GlobalOptions {
  stats?: boolean;
  strict?: boolean;
  debug?: boolean;
  parent?: string[];
}

export class CliContext {
  readonly stats: IoStats = newIoStats();
  readonly files: FileAccess;
  private readonly opened: { close(): Promise<void> }[] = [];

  constructor(
    readonly io: CliIo,
    readonly globals: GlobalOptions,
  ) {
    const stats = this.stats;
    const node = new NodeFileAccess(stats);
    // Parents and companion files go through the same cache and counters as the main image.
    this.files = {
      open: async (p) => {
        const dev = await node.open(p);
        return dev ? new CachedDevice(dev) : null;
      },
      resolveBeside: (f, r) => node.resolveBeside(f, r),
      basename: (p) => node.basename(p),
      siblings: (f, limit) => node.siblings(f, limit),
    };
  }

  /** Opens a plain file (cached, counted). */
  async openFile(path: string): Promise<BlockDevice> {
    const dev = new CachedDevice(await FileDevice.open(path, { stats: this.stats }));
    this.opened.push(dev);
    return dev;
  }

  /**
   * Opens a disk image of any supported format from a path; `opened`: the file as openFile already opened it (a
   * caller that looked at its first bytes first), so it is neither opened nor read again.
   */
  async openImage(path: string, opened?: BlockDevice): Promise<DiskImage> {
    const dev = opened ?? new CachedDevice(await FileDevice.open(path, { stats: this.stats }));
    try {
      const image = await openImage(dev, {
        path,
        files: this.files,
        parentPaths: this.globals.parent,
        strict: this.globals.strict === true,
      });
      this.opened.push(image);
      // Content decides the format (a raw disk may have any name), but a file named .vhd/.vhdx that holds neither
      // container is a damaged template, not a raw disk: reading it as one would only mislead (`scan` of a library).
      const claimed = /\.(a?vhdx?)$/i.exec(path)?.[1]?.toLowerCase().replace(/^a/, '');
      if (claimed && image.info.format === 'raw') {
        throw new BootprobeError(
          'IMAGE_UNKNOWN',
          `${path} is named .${claimed} but holds no ${claimed === 'vhdx' ? 'VHDX file identifier at offset 0' : 'VHD footer (conectix) at its end or start'}`,
          {
            offset: 0,
            hint: 'the file is damaged or truncated; restore it, or rename it if it really is a raw disk',
          },
        );
      }
      return image;
    } catch (e) {
      await dev.close();
      throw e;
    }
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  json(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  warn(text: string): void {
    this.io.stderr.write(`bootprobe: warning: ${text}\n`);
  }

  async closeAll(): Promise<void> {
    for (const o of this.opened.reverse()) {
      try {
        await o.close();
      } catch {
        // Closing is best effort: the command's result is already decided.
      }
    }
    this.opened.length = 0;
  }
}
