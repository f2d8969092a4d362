// The bootprobe command line (DESIGN.md "Command line"). Thin: parse arguments, call the library, print text or
// JSON, and map errors to exit codes: 0 ok, 1 verdict failed, 2 usage, 3 unreadable/corrupt input, 4 unsafe write.
import { Command, CommanderError, Option } from 'commander';
import { BootprobeError, type ErrorKind } from '../errors.js';
import { bcdCommand } from './commands/bcd.js';
import { convertCommand } from './commands/convert.js';
import { createChildCommand } from './commands/create-child.js';
import { catCommand, extractCommand, lsCommand, statCommand } from './commands/files.js';
import { infoCommand } from './commands/info.js';
import { peCommand } from './commands/pe.js';
import { preflightCommand } from './commands/preflight.js';
import { regCommand, regExportCommand } from './commands/reg.js';
import { repairCommand, undoCommand } from './commands/repair.js';
import { scanCommand } from './commands/scan.js';
import { CliContext, type CliIo, type GlobalOptions } from './context.js';

export const VERSION = '0.1.0';

export const EXIT = { ok: 0, verdict: 1, usage: 2, input: 3, unsafe: 4 } as const;

const EXIT_BY_KIND: Record<ErrorKind, number> = {
  corrupt: EXIT.input,
  missing: EXIT.input,
  unsupported: EXIT.input,
  io: EXIT.input,
  usage: EXIT.usage,
  unsafe: EXIT.unsafe,
};

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds one command to the program (the table below keeps them in help order). */
type AddCommand = (program: Command, run: Run) => void;
type Run = (fn: (ctx: CliContext) => Promise<number>) => Promise<void>;

const partitionOption = () => new Option('-p, --partition <n>', 'partition number (see `bootprobe info`)');

const COMMANDS: Record<string, AddCommand> = {
  info: (program, run) => {
    program
      .command('info')
      .description('image format, variant, virtual size, sector and block sizes, creator, parent chain')
      .argument('<image>', 'raw, VHD or VHDX image')
      .option('--json', 'print JSON')
      .action(async (image: string, opts: { json?: boolean }) => run((ctx) => infoCommand(ctx, image, opts)));
  },
  convert: (program, run) => {
    program
      .command('convert')
      .description('write the virtual disk (chain flattened) as a raw file, or a dynamic VHD or VHDX')
      .argument('<image>', 'raw, VHD or VHDX image')
      .argument('<output>', 'output file (*.raw, *.img, *.vhd, *.vhdx)')
      .addOption(new Option('-O, --output-format <format>', 'output format').choices(['raw', 'vhd', 'vhdx']))
      .option('-b, --block-size <size>', 'VHD/VHDX block size, e.g. 2M (default 2M for VHD, 32M for VHDX)')
      .option('-f, --force', 'overwrite the output if it exists')
      .option('--json', 'print JSON (VHD/VHDX output)')
      .action(async (image: string, output: string, opts) =>
        run((ctx) => convertCommand(ctx, image, output, opts)),
      );
  },
  'create-child': (program, run) => {
    program
      .command('create-child')
      .description('create an empty differencing disk over PARENT (VHD or VHDX by the child name)')
      .argument('<parent>', 'VHD or VHDX parent (only read)')
      .argument('<child>', 'new child: *.vhd, or *.vhdx / *.avhdx')
      .option('-f, --force', 'overwrite the child if it exists')
      .option('--json', 'print JSON')
      .action(async (parent: string, child: string, opts) =>
        run((ctx) => createChildCommand(ctx, parent, child, opts)),
      );
  },
  ls: (program, run) => {
    program
      .command('ls')
      .description('list a directory (or one file) of a volume in the image')
      .argument('<image>', 'disk image')
      .argument('[path]', 'directory or file inside the volume, / or \\ separated', '/')
      .addOption(partitionOption())
      .option('-R, --recursive', 'list subdirectories too')
      .option('-l, --long', 'attributes, size and modification time')
      .option('--json', 'print JSON')
      .action(async (image: string, p: string, opts) => run((ctx) => lsCommand(ctx, image, p, opts)));
  },
  cat: (program, run) => {
    program
      .command('cat')
      .description('write a file (or file:stream) to stdout')
      .argument('<image>', 'disk image')
      .argument('<path>', 'file inside the volume')
      .addOption(partitionOption())
      .action(async (image: string, p: string, opts) => run((ctx) => catCommand(ctx, image, p, opts)));
  },
  stat: (program, run) => {
    program
      .command('stat')
      .description('every NTFS attribute or FAT directory-entry field of a file')
      .argument('<image>', 'disk image')
      .argument('<path>', 'file or directory inside the volume')
      .addOption(partitionOption())
      .option('--json', 'print JSON')
      .action(async (image: string, p: string, opts) => run((ctx) => statCommand(ctx, image, p, opts)));
  },
  extract: (program, run) => {
    program
      .command('extract')
      .description('copy a file or (with -R) a directory tree out of the image, never writing outside DEST')
      .argument('<image>', 'disk image')
      .argument('<path>', 'file or directory inside the volume')
      .argument('<dest>', 'destination file or folder')
      .addOption(partitionOption())
      .option('-R, --recursive', 'extract a directory tree')
      .action(async (image: string, p: string, dest: string, opts) =>
        run((ctx) => extractCommand(ctx, image, p, dest, opts)),
      );
  },
  bcd: (program, run) => {
    program
      .command('bcd')
      .description('the BCD store as `bcdedit /enum all` prints it (found in the image, or a store file)')
      .argument('<source>', 'disk image or BCD file')
      .addOption(partitionOption())
      .option(
        '--file <path>',
        'the store inside the image (default: \\EFI\\Microsoft\\Boot\\BCD on the ESP, \\Boot\\BCD on the active partition)',
      )
      .option('-v, --verbose', 'as `bcdedit /enum all /v`: identifiers as GUIDs, devices in detail')
      .option('--json', 'print JSON')
      .action(async (source: string, opts) => run((ctx) => bcdCommand(ctx, source, opts)));
  },
  pe: (program, run) => {
    program
      .command('pe')
      .description(
        'machine, subsystem and versions of an executable; with --target-os, whether Windows would start it',
      )
      .argument('<source>', 'executable file, or a disk image followed by a path inside it')
      .argument('[path]', 'the executable inside the image')
      .addOption(partitionOption())
      .option(
        '--target-os <version>',
        'xp, 2003, vista, 7, 8, 8.1, 10, 11 or an NT version such as 5.1 (exit 1 when it would not run)',
      )
      .option('--target-arch <arch>', 'x86, x64 or arm64 (default: x86 for XP and older, else x64)')
      .option('--json', 'print JSON')
      .action(async (source: string, p: string | undefined, opts) =>
        run((ctx) => peCommand(ctx, source, p, opts)),
      );
  },
  preflight: (program, run) => {
    program
      .command('preflight')
      .description(
        'the SCVMM boot-volume walk and every pre-deployment check, with a verdict (exit 1 on fail)',
      )
      .argument('<images...>', 'template disk images (VHD, VHDX, raw)')
      .option('--json', 'print JSON')
      .option('--trace', 'print the walk as SCVMM traces it')
      .option(
        '--no-customization',
        'the guest OS profile is "Customization Not Required": an ungeneralized store only warns',
      )
      .option(
        '--target-os <version>',
        'check the boot tools the image carries (bootsect.exe) against this Windows',
      )
      .option('--target-arch <arch>', 'x86, x64 or arm64 (with --target-os)')
      .action(async (images: string[], opts) => run((ctx) => preflightCommand(ctx, images, opts)));
  },
  scan: (program, run) => {
    program
      .command('scan')
      .description('pre-flight every image under a folder: a table and a summary (exit 1 unless all pass)')
      .argument('<dir>', 'folder of templates (searched recursively)')
      .option('-j, --jobs <n>', 'images checked at once', '2')
      .option('--json', 'print JSON')
      .option('--no-customization', 'an ungeneralized store only warns')
      .action(async (dir: string, opts) => run((ctx) => scanCommand(ctx, dir, opts)));
  },
  repair: (program, run) => {
    program
      .command('repair')
      .description(
        'rewrite the BCD store so the template passes: a dry run (diff and the pre-flight after) unless an output mode is given',
      )
      .argument('<source>', 'disk image, or a BCD file')
      .option('--generalize', 'what sysprep /generalize does to the store: partition= devices become locate=')
      .option('--retarget', "point stale partition= devices at this disk's partitions")
      .option(
        '--transplant <donor>',
        'use the store of DONOR (a BCD file or an image), retargeted to this disk',
      )
      .option('--output <new>', 'write a repaired copy to NEW (the input is not touched)')
      .option(
        '--child <new>',
        'write the repair into a new differencing disk NEW over the template (VHD/VHDX)',
      )
      .option(
        '--in-place',
        'write into the input itself, saving every overwritten byte range to an undo record',
      )
      .option('--undo <path>', 'where --in-place keeps the undo record (default: IMAGE.bootprobe-undo)')
      .option('-f, --force', 'replace NEW if it exists')
      .option('--no-customization', 'judge the result as for a "Customization Not Required" profile')
      .option('--json', 'print JSON')
      .action(async (source: string, opts) => run((ctx) => repairCommand(ctx, source, opts)));
  },
  undo: (program, run) => {
    program
      .command('undo')
      .description('restore an image (or store file) from the undo record an --in-place repair kept')
      .argument('<image>', 'the image that was repaired in place')
      .argument('<undo>', 'its undo record')
      .option('--json', 'print JSON')
      .action(async (image: string, undo: string, opts) => run((ctx) => undoCommand(ctx, image, undo, opts)));
  },
  reg: (program, run) => {
    program
      .command('reg')
      .description(
        'list a registry key (hive file, or a hive in an image: its BCD store, or --file PATH); `reg export` prints .reg text as hivexregedit --export does',
      )
      .argument('<args...>', '[export] HIVE|IMAGE [KEYPATH]')
      .addOption(partitionOption())
      .option('--file <path>', 'hive inside the image, e.g. \\Windows\\System32\\config\\SYSTEM')
      .option(
        '--prefix <prefix>',
        'root key name for the output (default HKEY_LOCAL_MACHINE\\BCD00000000 for a BCD store)',
      )
      .option('--json', 'print JSON (listing only)')
      .action(async (args: string[], opts) => {
        const exporting = args[0] === 'export';
        const rest = exporting ? args.slice(1) : args;
        if (rest.length < 1 || rest.length > 2) {
          throw new BootprobeError('USAGE', 'reg takes [export] HIVE|IMAGE [KEYPATH]', {
            hint: 'see `bootprobe reg --help`',
          });
        }
        const [target, key] = rest as [string, string | undefined];
        return run((ctx) =>
          exporting ? regExportCommand(ctx, target, key, opts) : regCommand(ctx, target, key, opts),
        );
      });
  },
};

/**
 * The program with its global options and `only` that command when given, else every command (help, an unknown
 * name). Issue 7: defining all fourteen commands and their options cost ~1.7 ms of every start (CPU profile of
 * `cat`), and one run needs one of them.
 */
function buildProgram(io: CliIo, run: Run, only?: string): Command {
  const program = new Command();
  program
    .name('bootprobe')
    .description(
      'Open VHD/VHDX/raw disk images offline: find the Windows boot volume and BCD, pre-flight and repair VM templates.',
    )
    .version(VERSION, '-V, --version')
    .option('--stats', 'print bytes and requests read to stderr at exit')
    .option('--strict', 'treat tolerated findings (bad checksums, dirty logs) as errors')
    .option('--parent <path>', 'parent disk of a differencing image (repeat for deeper levels)', collect)
    .option('--debug', 'show stack traces of unexpected errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });

  for (const [name, add] of Object.entries(COMMANDS))
    if (only === undefined || name === only) add(program, run);
  return program;
}

/**
 * The command `argv` names when it is one of ours: its first word that is not a global option (or --parent's
 * value). Undefined otherwise, and the whole program is built (help lists every command; a misspelt one gets
 * commander's suggestion).
 */
function commandIn(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--parent') i++;
    else if (!a.startsWith('-')) return Object.hasOwn(COMMANDS, a) ? a : undefined;
  }
  return undefined;
}

/** Runs the CLI in-process; resolves to the exit code. Never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  let globals: GlobalOptions = {};
  let ctx: CliContext | undefined;
  const run = async (fn: (ctx: CliContext) => Promise<number>) => {
    globals = program.opts<GlobalOptions>();
    ctx = new CliContext(io, globals);
    try {
      exitCode = await fn(ctx);
    } finally {
      await ctx.closeAll();
    }
  };
  const program = buildProgram(io, run, commandIn(argv));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    exitCode = reportError(e, io, globals);
  }
  if (globals.stats && ctx) {
    const s = ctx.stats;
    io.stderr.write(
      `stats: bytesRead=${s.bytesRead} reads=${s.reads}${s.writes ? ` bytesWritten=${s.bytesWritten} writes=${s.writes}` : ''}\n`,
    );
  }
  return exitCode;
}

function reportError(e: unknown, io: CliIo, globals: GlobalOptions): number {
  if (e instanceof CommanderError) {
    if (
      e.code === 'commander.helpDisplayed' ||
      e.code === 'commander.version' ||
      e.code === 'commander.help'
    ) {
      return EXIT.ok;
    }
    // Commander has already printed its message.
    return EXIT.usage;
  }
  if (e instanceof BootprobeError) {
    io.stderr.write(`bootprobe: error: ${e.line.replace(/\s*\n\s*/g, ' ')}\n`);
    if (globals.debug && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT_BY_KIND[e.kind];
  }
  // Anything else is a bug in bootprobe, found by bad input: still one line and exit 3, never a stack trace.
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  io.stderr.write(
    `bootprobe: error: unexpected failure reading the input (${msg.split('\n')[0]}); please report it with --debug output\n`,
  );
  if (globals.debug && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  return EXIT.input;
}
