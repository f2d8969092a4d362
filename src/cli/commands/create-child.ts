// `bootprobe create-child PARENT CHILD`: an empty differencing disk over PARENT (VHD or VHDX, by CHILD's extension),
// locating its parent both relatively and absolutely (vhd-vhdx.md §1.4 W2ru/W2ku, §2.4 relative_path /
// absolute_win32_path / parent_linkage). The parent is only read. The child is re-opened through the reader, which
// must find this parent through the locators just written, before the command reports success.
// fs.promises is read when used: loading node:fs/promises at start-up costs every command ~0.8 ms (file-device.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BootprobeError } from '../../errors.js';
import { createChild, type DynamicFormat } from '../../image/create-image.js';
import { openImage } from '../../image/open-image.js';
import { bytesEqual } from '../../io/byte-view.js';
import { FileDevice } from '../../io/file-device.js';
import { NodeFileAccess } from '../../io/node-file-access.js';
import type { CliContext } from '../context.js';

export interface CreateChildOptions {
  force?: boolean;
  json?: boolean;
}

/** The child's format from its name: .vhd, or .vhdx/.avhdx (Hyper-V names checkpoint children .avhdx). */
export function childFormat(p: string): DynamicFormat {
  const ext = path.extname(p).toLowerCase();
  if (ext === '.vhd' || ext === '.avhd') return 'vhd';
  if (ext === '.vhdx' || ext === '.avhdx') return 'vhdx';
  throw new BootprobeError('USAGE', `create-child: cannot tell the format of ${p} from its extension`, {
    hint: 'name the child *.vhd (for a VHD parent) or *.vhdx / *.avhdx (for a VHDX parent)',
  });
}

/** The parent relative to the child's folder, in Windows syntax as Hyper-V writes it (`.\p.vhdx`, `..\b\p.vhdx`). */
export function windowsRelative(childPath: string, parentPath: string): string {
  const rel = path.relative(path.dirname(path.resolve(childPath)), path.resolve(parentPath)).split(path.sep);
  const joined = rel.join('\\');
  return rel[0] === '..' ? joined : `.\\${joined}`;
}

export async function createChildCommand(
  ctx: CliContext,
  parentPath: string,
  childPath: string,
  opts: CreateChildOptions,
): Promise<number> {
  const format = childFormat(childPath);
  if (path.resolve(parentPath) === path.resolve(childPath)) {
    throw new BootprobeError('UNSAFE_WRITE', `create-child: the child ${childPath} is the parent itself`, {
      hint: 'choose another path for the child',
    });
  }
  const parent = await ctx.openImage(parentPath);
  const absolute = path.resolve(parentPath);
  const relative = windowsRelative(childPath, parentPath);
  const out = await FileDevice.create(childPath, { overwrite: opts.force === true });
  let result: Awaited<ReturnType<typeof createChild>>;
  try {
    result = await createChild(parent, out, format, { relative, absolute });
    await out.close();
    await verifyChild(childPath, absolute, parent.size, (at, n) => parent.read(at, n));
  } catch (e) {
    await out.close();
    await fsp.rm(childPath, { force: true });
    throw e;
  }
  if (opts.json) {
    ctx.json({ child: childPath, parent: parentPath, ...result });
    return 0;
  }
  ctx.out(`created ${childPath}: ${format.toUpperCase()} differencing disk over ${parentPath}`);
  ctx.out(`  parent id: ${result.parentId}`);
  for (const l of result.locators) ctx.out(`  ${l.kind}: ${l.value}`);
  return 0;
}

/**
 * Opens the new child as any reader would (locators only, no --parent) and checks that it finds this parent, holds
 * no data of its own, and reads the parent's first and last MiB.
 */
async function verifyChild(
  childPath: string,
  parentAbsolute: string,
  size: number,
  readParent: (at: number, n: number) => Promise<Uint8Array>,
): Promise<void> {
  const child = await openImage(await FileDevice.open(childPath), {
    path: childPath,
    files: new NodeFileAccess(),
  });
  try {
    const found = child.info.parent?.path ? path.resolve(child.info.parent.path) : null;
    const allocated = await child.allocatedSize();
    const n = Math.min(size, 1024 * 1024);
    const same = async (at: number) => bytesEqual(await child.read(at, n), await readParent(at, n));
    if (
      found !== parentAbsolute ||
      child.warnings.length > 0 ||
      allocated !== 0 ||
      child.size !== size ||
      !(await same(0)) ||
      !(await same(size - n))
    ) {
      throw new BootprobeError(
        'IO_ERROR',
        `create-child: ${childPath} does not read back as a child of ${parentAbsolute}`,
        {
          hint: 'the child was removed; please report this with --debug',
          data: { found, allocated },
        },
      );
    }
  } finally {
    await child.close();
  }
}
