// `bootprobe convert IMAGE OUT.raw`: the virtual disk as a raw file, sparse where the image is unallocated or zero
// (as `qemu-img convert -O raw` writes it). VHD/VHDX output needs the write layer (issue 6).
import { open } from 'node:fs/promises';
import path from 'node:path';
import { BootprobeError } from '../../errors.js';
import { isAllZero } from '../../io/byte-view.js';
import type { CliContext } from '../context.js';
import { Progress } from '../progress.js';

export interface ConvertOptions {
  force?: boolean;
  outputFormat?: string;
}

/** Reads and writes in pieces of this size: large enough to stream fast, small enough to keep memory flat. */
const CHUNK = 4 * 1024 * 1024;
/** Zero detection granularity: a zero run this long is left as a hole. */
const HOLE = 64 * 1024;

export async function convertCommand(
  ctx: CliContext,
  imagePath: string,
  outPath: string,
  opts: ConvertOptions,
) {
  const format = (opts.outputFormat ?? formatFromName(outPath)).toLowerCase();
  if (format !== 'raw') {
    throw new BootprobeError(
      'USAGE',
      `convert: output format '${format}' is not supported yet; this version writes raw images only`,
      { hint: 'name the output *.raw, *.img or *.bin, or pass -O raw' },
    );
  }
  if (path.resolve(outPath) === path.resolve(imagePath)) {
    throw new BootprobeError('UNSAFE_WRITE', `convert: output ${outPath} is the input image`, {
      hint: 'choose another output path',
    });
  }
  const image = await ctx.openImage(imagePath);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(outPath, opts.force ? 'w' : 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new BootprobeError('OUTPUT_EXISTS', `convert: ${outPath} exists`, {
        hint: 'remove it or pass --force to overwrite it',
      });
    }
    throw new BootprobeError('IO_ERROR', `convert: cannot create ${outPath}: ${(e as Error).message}`);
  }
  const progress = new Progress(ctx.io.stderr, image.size, 'converting');
  try {
    // Set the size first: every range we skip stays a hole that reads as zeros.
    await fh.truncate(image.size);
    let done = 0;
    for (let at = 0; at < image.size; at += CHUNK) {
      const len = Math.min(CHUNK, image.size - at);
      for (const ext of await image.mapRange(at, len)) {
        if (ext.kind === 'zero') continue;
        const data = await image.read(ext.offset, ext.length);
        await writeSparse(fh, data, ext.offset);
      }
      done += len;
      progress.update(done);
    }
    await fh.sync();
  } finally {
    progress.done();
    await fh.close();
  }
  return 0;
}

async function writeSparse(
  fh: { write(b: Uint8Array, o: number, l: number, p: number): Promise<unknown> },
  data: Uint8Array,
  at: number,
) {
  for (let i = 0; i < data.length; i += HOLE) {
    const piece = data.subarray(i, Math.min(i + HOLE, data.length));
    if (isAllZero(piece)) continue;
    await fh.write(piece, 0, piece.length, at + i);
  }
}

function formatFromName(p: string): string {
  const ext = path.extname(p).toLowerCase();
  if (ext === '.vhd') return 'vhd';
  if (ext === '.vhdx' || ext === '.avhdx') return 'vhdx';
  return 'raw';
}
