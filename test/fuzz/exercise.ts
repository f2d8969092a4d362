// What a case runs: the real command functions (info, ls -R, cat, stat, bcd, reg, pe) in-process, through a
// CliContext whose files are the case's patched bytes, plus the library calls `convert` and `preflight` make. Each
// step must succeed or throw a BootprobeError; anything else fails the case (the harness keeps the input).
import { bcdCommand } from '../../src/cli/commands/bcd.js';
import { catCommand, lsCommand, statCommand } from '../../src/cli/commands/files.js';
import { infoCommand } from '../../src/cli/commands/info.js';
import { peCommand } from '../../src/cli/commands/pe.js';
import { regCommand, regExportCommand } from '../../src/cli/commands/reg.js';
import { CliContext } from '../../src/cli/context.js';
import { BootprobeError } from '../../src/errors.js';
import { exportReg, type Hive, openHive } from '../../src/hive/index.js';
import type { DiskImage } from '../../src/image/disk-image.js';
import { openImage } from '../../src/image/open-image.js';
import type { BlockDevice } from '../../src/io/block-device.js';
import { anyBasename, type FileAccess } from '../../src/io/file-access.js';
import { canRunOn, decodePe, WINDOWS_VERSIONS } from '../../src/pe/pe-file.js';
import { describeVolumes } from '../../src/volume/volumes.js';
import { preflight } from '../../src/windows/preflight.js';
import { PatchedDevice } from './bytes.js';

/** stdout past this many bytes stops the command (cat of a huge sparse file is right, and only slow). */
const OUTPUT_CAP = 1 << 20;
/** A path whose directory does not exist: `bcd`/`reg` look for hive logs beside the store and find none. */
export const FUZZ_PATH = '/nonexistent-bootprobe-fuzz/fuzz';

class OutputCap extends Error {}

class Sink {
  bytes = 0;
  readonly parts: string[] = [];
  constructor(private readonly keep: boolean) {}
  write(s: string | Uint8Array): boolean {
    this.bytes += s.length;
    if (this.bytes > OUTPUT_CAP * (this.keep ? 8 : 1)) throw new OutputCap('output cap');
    if (this.keep && typeof s === 'string') this.parts.push(s);
    return true;
  }
  get text(): string {
    return this.parts.join('');
  }
}

/** The case's input: its device, the parents beside it, and the image once opened (each command opens it again). */
interface CaseInput {
  dev: BlockDevice;
  files: FileAccess | undefined;
  image?: Promise<DiskImage>;
}

/**
 * A CliContext whose input file is the case's device. The disk image is opened once per case and shared by the
 * commands (the file systems and stores are still opened by each command), which keeps a 20,000-case run short.
 */
class FuzzContext extends CliContext {
  constructor(
    readonly sink: Sink,
    private readonly input: CaseInput,
  ) {
    super({ stdout: sink, stderr: new Sink(false) }, {});
  }
  override async openFile(): Promise<BlockDevice> {
    return this.input.dev;
  }
  override async openImage(p: string): Promise<DiskImage> {
    this.input.image ??= openImage(this.input.dev, { path: p, files: this.input.files });
    return this.input.image;
  }
}

export function memoryFiles(files: Record<string, Uint8Array>): FileAccess {
  return {
    open: async (p) => {
      const b = files[anyBasename(p)];
      return b ? new PatchedDevice(b, new Map(), b.length) : null;
    },
    resolveBeside: (_f, rel) => anyBasename(rel),
    basename: anyBasename,
  };
}

/**
 * How the steps of a case ended: ok, or a BootprobeError counted by code. The codes the pristine fixture gives too
 * (`expected`, see harness.ts `baseline`) leave a step ok.
 */
export class Steps {
  ok = 0;
  typed = 0;
  readonly codes = new Map<string, number>();
  /** Milliseconds spent per step name (FUZZ_PROFILE=1 prints them). */
  readonly times = new Map<string, number>();
  constructor(private readonly expected: ReadonlySet<string> = new Set()) {}
  /** Runs a step; a BootprobeError (or the output cap) ends it, any other exception ends the case. */
  async run<T>(
    name: string,
    fn: () => Promise<T> | T,
    expected: readonly string[] = [],
  ): Promise<T | BootprobeError | null> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.ok++;
      return r;
    } catch (e) {
      if (e instanceof OutputCap) {
        this.ok++;
        return null;
      }
      if (e instanceof BootprobeError) {
        // A code this step gives by design (BCD_NOT_FOUND without a store) is not counted; a code the pristine
        // fixture gives too is counted but leaves the step ok.
        if (expected.includes(e.code)) {
          this.ok++;
          return e;
        }
        this.codes.set(e.code, (this.codes.get(e.code) ?? 0) + 1);
        if (this.expected.has(e.code)) this.ok++;
        else this.typed++;
        return e;
      }
      throw e;
    } finally {
      this.times.set(name, (this.times.get(name) ?? 0) + performance.now() - t0);
    }
  }
}

const command =
  (input: CaseInput) =>
  <T>(fn: (ctx: FuzzContext) => Promise<T>) =>
  async () =>
    fn(new FuzzContext(new Sink(false), input));

/**
 * What the file commands run on in one volume: `cat` on the first file listed, `stat` on the last (a directory when
 * that is all there is), `pe` on the first executable. Each command opens the volume again, as the CLI does.
 */
function chooseFiles(listing: string): { cat: string | null; stat: string | null; pe: string | null } {
  const entries = (JSON.parse(listing) as { entries: { path: string; type: string; name: string }[] })
    .entries;
  const files = entries.filter((e) => e.type === 'file');
  return {
    cat: files[0]?.path ?? null,
    stat: (files[files.length - 1] ?? entries[entries.length - 1])?.path ?? null,
    pe: files.find((e) => /\.(exe|efi)$|^bootmgr$/i.test(e.name))?.path ?? null,
  };
}

/** info, the convert reads, ls -R, cat, stat, pe on executables, bcd (text, /v, --json) and preflight. */
export async function exerciseImage(
  dev: BlockDevice,
  files: FileAccess | undefined,
  steps: Steps,
): Promise<void> {
  const input: CaseInput = { dev, files };
  const cmd = command(input);
  const volumes = await steps.run('open, map, read', async () => {
    // What `convert` does: the map of the whole disk and its data.
    input.image = openImage(dev, { path: FUZZ_PATH, files });
    const image = await input.image;
    await image.allocatedSize();
    await image.mapRange(0, image.size);
    await image.read(0, Math.min(image.size, 1 << 20));
    if (image.size > 65536) await image.read(image.size - 65536, 65536);
    return (await describeVolumes(image)).volumes.filter((v) => v.filesystem).map((v) => String(v.index));
  });
  await steps.run(
    'info --json',
    cmd((ctx) => infoCommand(ctx, FUZZ_PATH, { json: true })),
  );
  await steps.run(
    'info',
    cmd((ctx) => infoCommand(ctx, FUZZ_PATH, {})),
  );

  const list = async (partition: string | undefined) => {
    const ctx = new FuzzContext(new Sink(true), input);
    const r = await steps.run(
      'ls -R --json',
      () => lsCommand(ctx, FUZZ_PATH, '/', { recursive: true, json: true, partition }),
      ['PARTITION_CHOICE'],
    );
    if (r instanceof BootprobeError) return r.code === 'PARTITION_CHOICE' ? 'choose' : null;
    return ctx.sink.bytes <= OUTPUT_CAP * 8 ? ctx.sink.text : null;
  };
  const volumesFor: (string | undefined)[] = [undefined];
  let listing = await list(undefined);
  if (listing === 'choose' && Array.isArray(volumes)) {
    volumesFor.length = 0;
    for (const p of volumes.slice(0, 3)) volumesFor.push(p);
  }
  for (const partition of volumesFor) {
    if (partition !== undefined) listing = await list(partition);
    if (typeof listing !== 'string' || listing === 'choose') continue;
    const { cat, stat, pe } = chooseFiles(listing);
    if (cat)
      await steps.run(
        'cat',
        cmd((ctx) => catCommand(ctx, FUZZ_PATH, cat, { partition })),
      );
    if (stat)
      await steps.run(
        'stat --json',
        cmd((ctx) => statCommand(ctx, FUZZ_PATH, stat, { json: true, partition })),
      );
    if (pe) {
      await steps.run(
        'pe IMAGE PATH',
        cmd((ctx) => peCommand(ctx, FUZZ_PATH, pe, { partition, targetOs: '7', json: true })),
      );
    }
  }

  const bcd = await steps.run(
    'bcd',
    cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, {})),
    ['BCD_NOT_FOUND'],
  );
  // /v and --json differ from the plain listing only in rendering: run them when there is a store to render.
  if (!(bcd instanceof BootprobeError)) {
    await steps.run(
      'bcd -v',
      cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, { verbose: true })),
    );
    await steps.run(
      'bcd --json',
      cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, { json: true })),
    );
  }

  // preflight (issue 8 item 3): the SCVMM walk on the opened disk, with the container format for the generation
  // check and a target for the boot tools' version gate; the report serialized as `preflight --json` prints it.
  await steps.run('preflight', async () => {
    const image = await (input.image ?? openImage(dev, { path: FUZZ_PATH, files }));
    const report = await preflight(image, {
      customization: true,
      format: image.info.format,
      target: { version: '5.1', arch: 'x86', label: 'xp' },
    });
    JSON.stringify(report);
  });
}

/** What `reg` and `reg export` do with a hive file: open, walk keys and values, export. */
export async function exerciseHive(dev: PatchedDevice, steps: Steps): Promise<void> {
  await steps.run('reg (library walk, export)', () => {
    const hive: Hive = openHive(dev.materialize(), { name: 'fuzz' });
    let budget = 2000;
    const walk = (k: ReturnType<Hive['getKey']> & object, depth: number) => {
      if (depth > 64) return;
      for (const v of k.values()) void v.data.length;
      for (const s of k.subkeys()) {
        if (--budget < 0) return;
        walk(s, depth + 1);
      }
    };
    walk(hive.root, 0);
    exportReg(hive, { prefix: 'HKEY_LOCAL_MACHINE\\FUZZ' });
  });
  await steps.run(
    'reg --json',
    command({ dev, files: undefined })((ctx) => regCommand(ctx, FUZZ_PATH, undefined, { json: true })),
  );
}

/** What `bcd` (text, /v, --json) and `reg export` do with a store file. */
export async function exerciseBcdFile(dev: PatchedDevice, steps: Steps): Promise<void> {
  const cmd = command({ dev, files: undefined });
  await steps.run(
    'reg export',
    cmd((ctx) => regExportCommand(ctx, FUZZ_PATH, undefined, {})),
  );
  const bcd = await steps.run(
    'bcd',
    cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, {})),
  );
  if (bcd instanceof BootprobeError) return;
  await steps.run(
    'bcd -v',
    cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, { verbose: true })),
  );
  await steps.run(
    'bcd --json',
    cmd((ctx) => bcdCommand(ctx, FUZZ_PATH, { json: true })),
  );
}

/** decodePe, canRunOn for every Windows the command knows, and `pe` with and without --target-os. */
export async function exercisePe(dev: PatchedDevice, steps: Steps): Promise<void> {
  await steps.run('decodePe, canRunOn', () => {
    const pe = decodePe(dev.materialize());
    for (const t of Object.values(WINDOWS_VERSIONS))
      for (const arch of ['x86', 'x64', 'arm64'] as const) canRunOn(pe, t.version, arch);
    JSON.stringify(pe);
  });
  const cmd = command({ dev, files: undefined });
  await steps.run(
    'pe',
    cmd((ctx) => peCommand(ctx, FUZZ_PATH, undefined, {})),
  );
  await steps.run(
    'pe --target-os xp',
    cmd((ctx) => peCommand(ctx, FUZZ_PATH, undefined, { targetOs: 'xp' })),
  );
  await steps.run(
    'pe --target-os 10 --json',
    cmd((ctx) => peCommand(ctx, FUZZ_PATH, undefined, { targetOs: '10', json: true })),
  );
}
