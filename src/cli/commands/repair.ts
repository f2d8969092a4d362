// `bootprobe repair IMAGE|BCDFILE (--generalize | --retarget | --transplant DONOR) [--output NEW | --child NEW |
// --in-place [--undo PATH]]` and `bootprobe undo IMAGE UNDO` (issue 6). Without an output mode it is a dry run: the
// store before and after as a diff of bcdedit listings, the changes, and the pre-flight the repaired image would get
// (the write is staged in memory and checked there). Every write goes through one path: plan the store (new hive
// bytes), plan the file rewrite on the volume (byte ranges), write data before metadata through the image writer
// (which reads every write back), then re-open the result read-only and pre-flight it. The input is written only
// with --in-place, and then every byte range overwritten is first saved to an undo record.
// fs.promises is read when used: loading node:fs/promises at start-up costs every command ~0.8 ms (file-device.ts).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isHiveDevice } from '../../api/inspect.js';
import { readBcdStore } from '../../bcd/index.js';
import { BootprobeError } from '../../errors.js';
import { openFileSystem } from '../../fs/open-fs.js';
import { openHive } from '../../hive/index.js';
import { createChild } from '../../image/create-image.js';
import type { DiskImage } from '../../image/disk-image.js';
import { openImageForWrite } from '../../image/open-writable.js';
import type { BlockDevice } from '../../io/block-device.js';
import { bytesEqual } from '../../io/byte-view.js';
import { FileDevice } from '../../io/file-device.js';
import { StagingDevice } from '../../io/staging-device.js';
import { restoreUndoRecord, UndoRecorder } from '../../io/undo-record.js';
import { partitionDevice, readPartitionTable } from '../../volume/partition-table.js';
import { walkDisk, winPath } from '../../windows/boot-volume.js';
import { type PreflightReport, preflight, preflightStore } from '../../windows/preflight.js';
import {
  describeTarget,
  locateStore,
  planStoreRepair,
  type RepairMode,
  type RepairPlan,
  readStoreForRepair,
  writeStore,
} from '../../windows/repair-plan.js';
import type { CliContext } from '../context.js';
import { childFormat, windowsRelative } from './create-child.js';
import { loadHive } from './reg.js';

export interface RepairOptions {
  generalize?: boolean;
  retarget?: boolean;
  transplant?: string;
  output?: string;
  child?: string;
  inPlace?: boolean;
  undo?: string;
  force?: boolean;
  json?: boolean;
  customization?: boolean;
}

const usage = (message: string, hint = 'see `bootprobe repair --help`') =>
  new BootprobeError('USAGE', message, { hint });

/** The donor's store: a BCD file, or the store an image's boot walk finds. */
async function loadDonor(ctx: CliContext, donor: string): Promise<RepairMode> {
  if (await isHiveDevice(await ctx.openFile(donor))) {
    const loaded = await loadHive(ctx, donor, {});
    return { kind: 'transplant', donor: loaded.hive, donorName: donor };
  }
  const image = await ctx.openImage(donor);
  const at = await locateStore(await walkDisk(image));
  const { hive } = await readStoreForRepair(at);
  return { kind: 'transplant', donor: hive, donorName: `${donor} ${describeTarget(at)}` };
}

function chosenMode(opts: RepairOptions): 'generalize' | 'retarget' | 'transplant' {
  const modes = [
    opts.generalize && 'generalize',
    opts.retarget && 'retarget',
    opts.transplant && 'transplant',
  ].filter(Boolean) as ('generalize' | 'retarget' | 'transplant')[];
  if (modes.length !== 1)
    throw usage('repair needs exactly one of --generalize, --retarget, --transplant DONOR');
  const outputs = [opts.output, opts.child, opts.inPlace].filter((x) => x !== undefined && x !== false);
  if (outputs.length > 1) throw usage('choose one of --output NEW, --child NEW, --in-place');
  if (opts.undo && !opts.inPlace) throw usage('--undo PATH goes with --in-place');
  return modes[0]!;
}

export async function repairCommand(ctx: CliContext, target: string, opts: RepairOptions): Promise<number> {
  const kind = chosenMode(opts);
  const mode: RepairMode = kind === 'transplant' ? await loadDonor(ctx, opts.transplant!) : { kind };
  const customization = opts.customization !== false;
  if (await isHiveDevice(await ctx.openFile(target)))
    return repairStoreFile(ctx, target, mode, opts, customization);

  const image = await ctx.openImage(target);
  const walk = await walkDisk(image);
  const at = await locateStore(walk);
  const { hive, logs } = await readStoreForRepair(at);
  const plan = planStoreRepair(hive, mode, walk, at, logs);
  const where = describeTarget(at);

  if (!opts.output && !opts.child && !opts.inPlace) {
    // Dry run: the same write, staged in memory over the image, then pre-flighted there.
    const staging = new StagingDevice(image);
    const written = await writeStore(staging, at.probe.volume.index, at.entry.path, plan.bytes);
    const after = await preflight(staging, { customization, format: image.info.format });
    report(ctx, opts, plan, where, null, written, after);
    return after.verdict === 'pass' ? 0 : 1;
  }

  let outPath: string;
  let undoPath: string | null = null;
  let written: string[] | null = null;
  if (opts.output) {
    outPath = opts.output;
    if (image.info.variant === 'differencing')
      throw new BootprobeError(
        'UNSAFE_WRITE',
        `${target} is a differencing disk: a copy of it would lose its parent's path`,
        {
          hint: 'write the repair into a new child of it with --child NEW, or flatten it first (`bootprobe convert`)',
        },
      );
    await refuseExisting(outPath, opts.force === true);
    await ctx.closeAll();
    await fsp.copyFile(target, outPath);
  } else if (opts.child) {
    outPath = opts.child;
    const format = childFormat(outPath);
    // The write is staged over the template, then the child is made holding the blocks it touched (the same path
    // as the library's generalizeIntoChild): the template is only read, and the child is complete or absent.
    const staging = new StagingDevice(image);
    written = await writeStore(staging, at.probe.volume.index, at.entry.path, plan.bytes);
    const out = await FileDevice.create(outPath, { overwrite: opts.force === true });
    try {
      await createChild(
        image,
        out,
        format,
        { relative: windowsRelative(outPath, target), absolute: path.resolve(target) },
        { device: staging, ranges: staging.pending },
      );
    } catch (e) {
      await out.close();
      await fsp.rm(outPath, { force: true });
      throw e;
    }
    await out.close();
    await ctx.closeAll();
  } else {
    outPath = target;
    undoPath = opts.undo ?? `${target}.bootprobe-undo`;
    await refuseExisting(undoPath, false);
    await ctx.closeAll();
  }
  try {
    written ??= await applyToImageFile(
      ctx,
      outPath,
      undoPath,
      at.probe.volume.index,
      at.entry.path,
      plan.bytes,
    );
  } catch (e) {
    if (opts.output || opts.child) await fsp.rm(outPath, { force: true });
    throw e;
  }
  // Verify through the whole stack, read-only: the store reads back byte for byte, then pre-flight.
  const check = await ctx.openImage(outPath);
  const fs = await openFileSystem(
    partitionDevice(
      check,
      (await readPartitionTable(check)).partitions.find((p) => p.index === at.probe.volume.index)!,
    ),
    'repaired volume',
  );
  const entry = await fs.lookup(at.entry.path);
  const back = await (await fs.openFile(entry)).read(0, entry.size);
  if (!bytesEqual(back, plan.bytes))
    throw new BootprobeError(
      'FS_WRITE_VERIFY',
      `${outPath}: ${winPath(at.entry.path)} does not read back as written`,
      {
        hint: undoPath
          ? `restore the image: bootprobe undo ${outPath} ${undoPath}`
          : 'delete the output and try again',
      },
    );
  const after = await preflight(check, { customization, format: check.info.format });
  report(ctx, opts, plan, where, { path: outPath, undo: undoPath }, written, after);
  return after.verdict === 'pass' ? 0 : 1;
}

async function refuseExisting(p: string, force: boolean): Promise<void> {
  const exists = await fsp.stat(p).then(
    () => true,
    () => false,
  );
  if (exists && !force)
    throw new BootprobeError('OUTPUT_EXISTS', `${p} exists`, {
      hint: 'choose another path, or pass --force to replace it',
    });
}

/** Opens `file` for writing (through an undo recorder when asked), writes the store, flushes and closes. */
async function applyToImageFile(
  ctx: CliContext,
  file: string,
  undoPath: string | null,
  partition: number,
  storePath: string,
  bytes: Uint8Array,
): Promise<string[]> {
  const dev = await FileDevice.openWritable(file, { stats: ctx.stats });
  let recorder: UndoRecorder | null = null;
  let base: BlockDevice = dev;
  if (undoPath) {
    const record = await FileDevice.create(undoPath);
    recorder = await UndoRecorder.start(dev, record);
    base = recorder;
  }
  let image: DiskImage | null = null;
  let failed = false;
  try {
    image = await openImageForWrite(base, {
      path: file,
      files: ctx.files,
      parentPaths: ctx.globals.parent,
      strict: ctx.globals.strict === true,
    });
    const changes = await writeStore(image, partition, storePath, bytes);
    await image.flush?.();
    return changes;
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // The image owns the device under it (the recorder, which owns the file): closing it flushes and closes all.
    if (image) await image.close();
    else if (recorder) await recorder.close();
    else await dev.close();
    // A refusal before the first write leaves an empty record: nothing to undo, so no file to confuse anyone.
    if (failed && recorder && undoPath && recorder.stats.entries === 0)
      await fsp.rm(undoPath, { force: true });
  }
}

/** A BCD file repaired on its own: dry run or --output (a new store file); the file itself only with --in-place. */
async function repairStoreFile(
  ctx: CliContext,
  target: string,
  mode: RepairMode,
  opts: RepairOptions,
  customization: boolean,
): Promise<number> {
  if (opts.child) throw usage('--child needs a disk image, not a store file');
  const loaded = await loadHive(ctx, target, {});
  const plan = planStoreRepair(loaded.hive, mode, null, null);
  const check = (bytes: Uint8Array, name: string): PreflightReport => {
    const hive = openHive(bytes, { strict: true, name });
    return preflightStore(
      { store: readBcdStore(hive.root), name, recovered: false, dirty: null },
      { customization },
    );
  };
  if (!opts.output && !opts.inPlace) {
    const after = check(plan.bytes, target);
    report(ctx, opts, plan, target, null, [], after);
    return after.verdict === 'pass' ? 0 : 1;
  }
  const outPath = opts.output ?? target;
  let undoPath: string | null = null;
  await ctx.closeAll();
  if (opts.output) {
    const out = await FileDevice.create(outPath, { overwrite: opts.force === true });
    try {
      await out.write(0, plan.bytes);
      await out.flush?.();
    } finally {
      await out.close();
    }
  } else {
    undoPath = opts.undo ?? `${target}.bootprobe-undo`;
    await refuseExisting(undoPath, false);
    const dev = await FileDevice.openWritable(target, { stats: ctx.stats });
    const recorder = await UndoRecorder.start(dev, await FileDevice.create(undoPath));
    try {
      await recorder.write(0, plan.bytes);
      if (dev.size > plan.bytes.length) await recorder.truncate(plan.bytes.length);
      await recorder.flush();
    } finally {
      await recorder.finish();
      await dev.close();
    }
  }
  const back = await ctx.openFile(outPath);
  const bytes = await back.read(0, back.size);
  if (!bytesEqual(bytes, plan.bytes))
    throw new BootprobeError('FS_WRITE_VERIFY', `${outPath} does not read back as written`, {
      hint: undoPath ? `restore it: bootprobe undo ${outPath} ${undoPath}` : 'delete it and try again',
    });
  const after = check(bytes, outPath);
  report(
    ctx,
    opts,
    plan,
    target,
    { path: outPath, undo: undoPath },
    [`${outPath}: ${plan.bytes.length} bytes`],
    after,
  );
  return after.verdict === 'pass' ? 0 : 1;
}

function report(
  ctx: CliContext,
  opts: RepairOptions,
  plan: RepairPlan,
  where: string,
  wrote: { path: string; undo: string | null } | null,
  written: string[],
  after: PreflightReport,
): void {
  const imageState =
    after.windows && !after.windows.generalized ? after.checks.find((c) => c.id === 'image-state') : null;
  const remark = imageState
    ? 'the store is repaired, but the Windows inside is not generalized: it keeps its machine identity (SID); sysprep /generalize is still the way to a clean machine'
    : null;
  if (opts.json) {
    ctx.json({
      mode: plan.mode,
      store: where,
      dryRun: wrote === null,
      output: wrote?.path ?? null,
      undo: wrote?.undo ?? null,
      changes: plan.changes,
      notes: plan.notes,
      written,
      diff: plan.listing.diff,
      after: { verdict: after.verdict, checks: after.checks, generalized: after.generalized },
      remark,
    });
    return;
  }
  const lines: string[] = [];
  lines.push(
    wrote
      ? `repaired ${where} into ${wrote.path} (${plan.mode})`
      : `dry run: ${plan.mode} of ${where} (nothing written; --output NEW, --child NEW or --in-place writes it)`,
  );
  if (wrote?.undo)
    lines.push(`undo record: ${wrote.undo} (restore with: bootprobe undo ${wrote.path} ${wrote.undo})`);
  for (const c of plan.changes)
    lines.push(`  ${c.object} ${c.element}: ${c.before ?? '(absent)'} -> ${c.after ?? '(removed)'}`);
  for (const n of plan.notes) lines.push(`  note: ${n}`);
  if (plan.listing.diff) lines.push('', plan.listing.diff.trimEnd(), '');
  else lines.push('  the store is unchanged');
  for (const w of written) lines.push(`  ${wrote ? 'wrote' : 'would write'}: ${w}`);
  lines.push(`pre-flight ${wrote ? 'of the result' : 'after the repair'}: ${after.verdict.toUpperCase()}`);
  for (const c of after.checks) if (c.status !== 'pass') lines.push(`  ${c.status} ${c.id}: ${c.message}`);
  if (remark) lines.push(`note: ${remark}`);
  ctx.out(lines.join('\n'));
}

/** `bootprobe undo IMAGE UNDO`: writes every saved range back and truncates to the original size. */
export async function undoCommand(
  ctx: CliContext,
  target: string,
  undo: string,
  opts: { json?: boolean },
): Promise<number> {
  const record = await FileDevice.open(undo, { stats: ctx.stats });
  const dev = await FileDevice.openWritable(target, { stats: ctx.stats });
  try {
    const r = await restoreUndoRecord(dev, record);
    if (opts.json) ctx.json({ image: target, undo, ...r });
    else
      ctx.out(
        `restored ${target}: ${r.entries} ranges, ${r.bytes} bytes${r.tornTail ? ' (a torn last entry was ignored: that write never happened)' : ''}; size ${r.originalSize}`,
      );
  } finally {
    await dev.close();
    await record.close();
  }
  return 0;
}
