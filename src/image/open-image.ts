// Opens any supported image by content, never by file extension (issue 2: "Detection by content").
import { BootprobeError, type ErrorCode, hex } from '../errors.js';
import type { BlockDevice } from '../io/index.js';
import { type DiskImage, MAX_CHAIN_DEPTH, type OpenImageOptions } from './disk-image.js';
import { RawImage } from './raw.js';
import { openVhd } from './vhd/vhd-image.js';
import { openVhdx } from './vhdx/vhdx-image.js';

export type SniffedFormat = 'vhdx' | 'vhd' | 'raw';

const VHDX_SIGNATURE = 'vhdxfile';
const VHD_COOKIE = 'conectix';

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * Decides the container format from its bytes: "vhdxfile" at 0 (vhd-vhdx.md §2.1); "conectix" in the last 512 or
 * 511 bytes, or at 0 for a dynamic disk whose trailing footer is damaged (§1.1); anything else is raw.
 */
export async function sniffFormat(dev: BlockDevice): Promise<SniffedFormat> {
  if (dev.size >= 8) {
    const head = await dev.read(0, Math.min(512, dev.size));
    if (ascii(head, 0, 8) === VHDX_SIGNATURE) return 'vhdx';
    if (dev.size >= 512) {
      const tail = await dev.read(dev.size - 512, 512);
      if (ascii(tail, 0, 8) === VHD_COOKIE || ascii(tail, 1, 8) === VHD_COOKIE) return 'vhd';
      // A 512-byte "conectix" header at 0 followed by "cxsparse" at 512 is a dynamic VHD with a lost footer.
      if (ascii(head, 0, 8) === VHD_COOKIE && dev.size >= 1024) {
        const next = await dev.read(512, 8);
        if (ascii(next, 0, 8) === 'cxsparse') return 'vhd';
      }
    }
  }
  return 'raw';
}

/** Opens `dev` as whatever image it holds. The returned image owns `dev`: closing it closes the device. */
export async function openImage(dev: BlockDevice, options: OpenImageOptions = {}): Promise<DiskImage> {
  const format = await sniffFormat(dev);
  switch (format) {
    case 'vhdx':
      return openVhdx(dev, options);
    case 'vhd':
      return openVhd(dev, options);
    default:
      return new RawImage(dev);
  }
}

export interface ParentCandidate {
  /** Path in host syntax. */
  path: string;
  /** Where it came from: '--parent', 'W2ru', 'relative_path', 'parent name beside child', ... */
  via: string;
}

export interface OpenParentArgs {
  /** The child, for messages and the loop guard. */
  childPath: string;
  /** Candidate locations from the child's locators, best first (duplicates are tried once). */
  candidates: ParentCandidate[];
  options: OpenImageOptions;
  /** Returns null when `parent` is the one the child names, else a short description of the difference. */
  check(parent: DiskImage): string | null;
  missingCode: Extract<ErrorCode, 'VHD_PARENT_MISSING' | 'VHDX_PARENT_MISSING'>;
  mismatchCode: Extract<ErrorCode, 'VHD_PARENT_MISMATCH' | 'VHDX_PARENT_MISMATCH'>;
  /** Offset of the structure naming the parent in the child, for errors. */
  offset?: number;
}

/**
 * Finds, opens and verifies a differencing disk's parent (vhd-vhdx.md §1.4 "Opening a differencing parent",
 * §2.4 "Parent locator"). `--parent` (options.parentPaths[0]) replaces the locators for this level; deeper levels
 * get the rest of the list. A missing parent names every path tried; a parent with the wrong id is never used.
 */
export async function openParent(
  args: OpenParentArgs,
): Promise<{ image: DiskImage; path: string; via: string }> {
  const { options } = args;
  const depth = (options.depth ?? 0) + 1;
  const chain = [...(options.chain ?? []), args.childPath];
  if (depth > MAX_CHAIN_DEPTH) {
    throw new BootprobeError(
      'PARENT_CHAIN',
      `${args.childPath}: parent chain deeper than ${MAX_CHAIN_DEPTH} disks`,
      {
        hint: 'the chain is circular or damaged',
      },
    );
  }
  const files = options.files;
  const override = options.parentPaths?.[0];
  const candidates: ParentCandidate[] = override ? [{ path: override, via: '--parent' }] : args.candidates;
  const tried: string[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c.path)) continue;
    seen.add(c.path);
    if (chain.includes(c.path)) {
      throw new BootprobeError(
        'PARENT_CHAIN',
        `${args.childPath}: parent ${c.path} is already in the chain`,
        {
          hint: 'the parent locators form a loop',
        },
      );
    }
    const dev = files ? await files.open(c.path) : null;
    if (!dev) {
      tried.push(`${c.path} (${c.via}: not found)`);
      continue;
    }
    let image: DiskImage;
    try {
      image = await openImage(dev, {
        ...options,
        // A parent is never opened for writing (DESIGN.md write rules; vhd-vhdx.md §1.4 step 5, §2.6).
        writable: false,
        replayLog: false,
        path: c.path,
        depth,
        chain,
        parentPaths: options.parentPaths?.slice(1),
      });
    } catch (e) {
      await dev.close();
      if (e instanceof BootprobeError) throw e.withContext(`parent ${c.path} of ${args.childPath}`);
      throw e;
    }
    const mismatch = args.check(image);
    if (mismatch === null) return { image, path: c.path, via: c.via };
    await image.close();
    tried.push(`${c.path} (${c.via}: ${mismatch})`);
    if (override) {
      throw new BootprobeError(
        args.mismatchCode,
        `${args.childPath}: --parent ${override} is not its parent: ${mismatch}`,
        {
          offset: args.offset,
          hint: 'pass the disk this child was made from',
        },
      );
    }
  }
  const where = args.offset === undefined ? '' : ` (locators at ${hex(args.offset)})`;
  throw new BootprobeError(
    args.missingCode,
    `${args.childPath}: parent disk not found${where}; tried ${tried.length ? tried.join(', ') : 'no path (the child names none)'}`,
    { offset: args.offset, hint: 'put the parent beside the child or pass --parent PATH', data: { tried } },
  );
}
