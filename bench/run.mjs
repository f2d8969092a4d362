#!/usr/bin/env node
// The benchmark of issue 7: bootprobe against the C/C++ tools that do the same jobs, timed in the same run on the
// images bench/make-images.sh builds. Whole processes, warm cache, several rounds (contenders of a task take turns,
// so drift hits them alike), medians. Bytes read: bootprobe's own --stats, and strace for everyone (reads whose file
// descriptor is the image or its loop device). Peak RSS: /usr/bin/time's maximum resident set size.
// Writes bench/RESULTS.md. Needs root (loop devices), strace, /usr/bin/time and the tools make-images.sh needs.
//
//   npm run bench [-- --runs N] [-- --work DIR] [-- --only cat-bcd,ls] [-- --out FILE] [-- --no-build]
//                 [-- --baseline OTHER/dist/cli.cjs]   (every bootprobe row again with another build, e.g. before a change)
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const work = path.resolve(args.work ?? process.env.BOOTPROBE_BENCH_DIR ?? '/tmp/bootprobe-bench');
/** Timed rounds per task: each task's own count (more for the short ones, whose medians noise moves most), or --runs. */
const RUNS = Number(args.runs ?? 7);
const WARMUP = 2;
const out = path.resolve(args.out ?? path.join(repo, 'bench', 'RESULTS.md'));
const only = args.only ? new Set(String(args.only).split(',')) : null;
/** The ~46 KB floor for finding and reading \Boot\BCD (issue 7). */
const BCD_FLOOR = 46 * 1024;

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    if (key.startsWith('no-')) o[key.slice(3)] = false;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) o[key] = argv[++i];
    else o[key] = true;
  }
  return o;
}

function need(tool) {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: ${tool} is not installed`);
  return r.stdout.trim();
}

function sh(cmd, argv, opts = {}) {
  return execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
}

// ---- setup ---------------------------------------------------------------------------------------------------------

if (args.build !== false) {
  sh('bash', [path.join(repo, 'bench', 'make-images.sh'), work], { stdio: 'inherit' });
  sh(process.execPath, [path.join(repo, 'scripts', 'build.mjs')], { cwd: repo, stdio: 'inherit' });
}
for (const t of ['strace', 'losetup', 'ntfscat', 'ntfsls', '7z', 'icat', 'fcat', 'ifind', 'fls', 'qemu-img'])
  need(t);
const TIME = '/usr/bin/time';
if (!existsSync(TIME)) throw new Error('bench: /usr/bin/time is not installed (apt-get install time)');

const layout = JSON.parse(readFileSync(path.join(work, 'layout.json'), 'utf8'));
const vhdx = path.join(work, 'bench-4g.vhdx');
const raw = path.join(work, 'bench-4g.raw');
const vhdx127 = path.join(work, 'bench-127g.vhdx');
const cli = path.join(repo, 'dist', 'cli.cjs');
const baseline = args.baseline ? path.resolve(String(args.baseline)) : null;
const BASELINE = ' [baseline]';
const node = process.execPath;
const bp = (...a) => [node, cli, ...a];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootprobe-bench-'));

const loops = [];
function loop(offset, size) {
  const a = ['-f', '--show', '-r', '-o', String(offset)];
  if (size) a.push('--sizelimit', String(size));
  const dev = sh('losetup', [...a, raw]).trim();
  loops.push(dev);
  return dev;
}
function cleanup() {
  for (const l of loops.splice(0)) spawnSync('losetup', ['-d', l]);
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const sysresSize = layout.sysres.sectors * layout.sectorSize;
const loop1 = loop(layout.sysres.offset, sysresSize);
const loop2 = loop(layout.windows.offset);
const imagePaths = new Set([vhdx, raw, vhdx127, loop1, loop2]);
const ifind = (sector, p) => sh('ifind', ['-o', String(sector), '-n', p, raw]).trim();

// ---- measuring -----------------------------------------------------------------------------------------------------

/** One timed run: wall time from spawn to exit, peak RSS from /usr/bin/time (same overhead for every tool). */
function timedRun(c) {
  const rssFile = path.join(tmp, 'rss');
  const devnull = openSync('/dev/null', 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', '-o', rssFile, ...c.cmd], {
    stdio: ['ignore', devnull, 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(devnull);
  if (!(c.okCodes ?? [0]).includes(r.status ?? -1))
    throw new Error(`${c.name}: exit ${r.status}: ${String(r.stderr).slice(0, 400)}`);
  const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
  const rssKb = Number(lines[lines.length - 1]);
  const stats = /stats: bytesRead=(\d+) reads=(\d+)/.exec(String(r.stderr));
  return { ms, rssKb, stats: stats ? { bytes: Number(stats[1]), reads: Number(stats[2]) } : null };
}

/** Bytes and requests that read the image (or its loop device), from strace -y; one run, not timed. */
function straceBytes(c) {
  const log = path.join(tmp, 'strace.log');
  const r = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-y',
      '-e',
      'trace=read,pread64,readv,preadv,preadv2',
      '-e',
      'signal=none',
      '-o',
      log,
      ...c.cmd,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  if (!(c.okCodes ?? [0]).includes(r.status ?? -1))
    throw new Error(`${c.name}: exit ${r.status} under strace`);
  let bytes = 0;
  let reads = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const m = /^\d+\s+(?:read|pread64|readv|preadv2?)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)/.exec(line);
    if (m && imagePaths.has(m[2])) {
      bytes += Number(m[3]);
      reads++;
    }
  }
  rmSync(log, { force: true });
  return { bytes, reads };
}

/** sha256 (cat) or line count (ls) of what a contender prints, through a pipe: outputs reach gigabytes. */
function outputDigest(c, lines) {
  const r = spawnSync(
    'bash',
    ['-c', `set -o pipefail; "$@" | ${lines ? 'wc -l' : 'sha256sum'}`, 'digest', ...c.cmd],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  if (r.status !== 0 && !(c.okCodes ?? [0]).includes(r.status)) return `exit ${r.status}`;
  return lines ? r.stdout.trim() : r.stdout.slice(0, 16);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Runs every contender of a task in turns: WARMUP untimed rounds, then `runs` timed rounds. */
function measure(task) {
  const cs = task.contenders;
  const runs = args.runs ? RUNS : (task.runs ?? RUNS);
  const times = cs.map(() => []);
  const rss = cs.map(() => []);
  const stats = cs.map(() => null);
  process.stderr.write(`bench: ${task.title} `);
  for (let round = 0; round < WARMUP + runs; round++) {
    cs.forEach((c, i) => {
      const r = timedRun(c);
      if (round >= WARMUP) {
        times[i].push(r.ms);
        rss[i].push(r.rssKb);
        stats[i] = r.stats;
      }
    });
    process.stderr.write('.');
  }
  const rows = cs.map((c, i) => {
    const io = straceBytes(c);
    const digest = task.digest ? outputDigest(c, task.id === 'ls') : null;
    return {
      name: c.name,
      peer: c.peer !== false,
      note: c.note ?? '',
      medianMs: median(times[i]),
      minMs: Math.min(...times[i]),
      rssMb: Math.max(...rss[i]) / 1024,
      stats: stats[i],
      io,
      digest,
    };
  });
  process.stderr.write('\n');
  const peers = rows.filter((r) => r.peer);
  const best = peers.length ? peers.reduce((a, b) => (a.medianMs <= b.medianMs ? a : b)) : null;
  return { ...task, rows, best };
}

// ---- the tasks -----------------------------------------------------------------------------------------------------

const p1 = String(layout.sysres.partition);
const p2 = String(layout.windows.partition);
const s1 = layout.sysres.startSector;
const s2 = layout.windows.startSector;
const self = (name, cmd, extra = {}) => ({ name, cmd, peer: false, ...extra });

function catTask(id, title, part, sector, loopDev, file, runs) {
  const inode = ifind(sector, `/${file}`);
  return {
    id,
    title,
    runs,
    digest: true,
    size: Number(sh('istat', ['-o', String(sector), raw, inode]).match(/\$DATA[^\n]*size: (\d+)/)?.[1] ?? 0),
    contenders: [
      self('bootprobe cat (VHDX)', bp('--stats', 'cat', '-p', part, vhdx, file)),
      self('bootprobe cat (raw)', bp('--stats', 'cat', '-p', part, raw, file)),
      { name: 'ntfscat (loop device)', cmd: ['ntfscat', loopDev, file] },
      { name: '7z x -so (loop device)', cmd: ['7z', 'x', '-so', loopDev, file] },
      { name: 'fcat (raw)', cmd: ['fcat', '-o', String(sector), `/${file}`, raw] },
      {
        name: 'icat (raw)',
        cmd: ['icat', '-o', String(sector), raw, inode],
        note: `inode ${inode} looked up beforehand (ifind), not timed`,
      },
      { name: 'icat -i vhd (VHDX, libvhdi)', cmd: ['icat', '-i', 'vhd', '-o', String(sector), vhdx, inode] },
    ],
  };
}

const tasks = [
  {
    id: 'startup',
    title: 'start-up',
    runs: 21,
    contenders: [
      self('node -e 0 (Node itself)', [node, '-e', '0']),
      self('bootprobe --version', bp('--version')),
      self('losetup + losetup -d (what a loop device costs the peers)', [
        'sh',
        '-c',
        `d=$(losetup -f --show -r -o ${layout.sysres.offset} ${raw}) && losetup -d "$d"`,
      ]),
    ],
  },
  catTask('cat-bcd', 'cat \\Boot\\BCD (System Reserved)', p1, s1, loop1, layout.bcd, 21),
  catTask('cat-hive', 'cat \\Windows\\System32\\config\\SYSTEM', p2, s2, loop2, layout.hive, 15),
  catTask('cat-1g', 'cat \\pagefile.sys (1 GiB)', p2, s2, loop2, layout.bigFile, 5),
  catTask(
    'cat-sparse',
    'cat \\Windows\\LiveKernelReports\\sparse.dmp (2 GiB, 3 MiB of data)',
    p2,
    s2,
    loop2,
    layout.sparseFile,
    3,
  ),
  {
    id: 'ls',
    title: 'ls -R of the Windows volume',
    runs: 5,
    digest: true,
    contenders: [
      self('bootprobe ls -R (VHDX)', bp('--stats', 'ls', '-R', '-p', p2, vhdx)),
      self('bootprobe ls -R (raw)', bp('--stats', 'ls', '-R', '-p', p2, raw)),
      { name: 'ntfsls -R (loop device)', cmd: ['ntfsls', '-R', loop2] },
      { name: '7z l (loop device)', cmd: ['7z', 'l', loop2] },
      { name: 'fls -r (raw)', cmd: ['fls', '-r', '-o', String(s2), raw] },
    ],
  },
  {
    id: 'info',
    title: 'info',
    runs: 7,
    contenders: [
      self('bootprobe info (4 GiB VHDX)', bp('--stats', 'info', vhdx)),
      self('bootprobe info (127 GiB VHDX)', bp('--stats', 'info', vhdx127)),
      { name: 'qemu-img info (4 GiB VHDX)', cmd: ['qemu-img', 'info', vhdx] },
      { name: 'vhdiinfo (4 GiB VHDX)', cmd: ['vhdiinfo', vhdx] },
      { name: 'mmls (raw)', cmd: ['mmls', raw] },
      { name: '7z l (4 GiB VHDX: partitions)', cmd: ['7z', 'l', vhdx] },
    ],
  },
];

const help = spawnSync(node, [cli, 'preflight', '--help'], { encoding: 'utf8' });
const hasPreflight = help.status === 0 && /Usage: bootprobe preflight/.test(help.stdout);
if (hasPreflight) {
  tasks.push({
    id: 'preflight',
    title: 'preflight',
    runs: 7,
    contenders: [
      self('bootprobe preflight (4 GiB VHDX)', bp('--stats', 'preflight', vhdx), { okCodes: [0, 1] }),
      self('bootprobe preflight (127 GiB VHDX)', bp('--stats', 'preflight', vhdx127), { okCodes: [0, 1] }),
    ],
  });
}

// ---- run and report ------------------------------------------------------------------------------------------------

const results = [];
// --baseline: each bootprobe contender once more, run by the other build (never a peer, never in the targets).
if (baseline) {
  for (const t of tasks) {
    const extra = t.contenders
      .filter((c) => c.peer === false && c.cmd[0] === node && c.cmd[1] === cli)
      .map((c) => ({ ...c, name: c.name + BASELINE, cmd: [node, baseline, ...c.cmd.slice(2)] }));
    t.contenders.push(...extra);
  }
}
for (const t of tasks) if (!only || only.has(t.id)) results.push(measure(t));

const fmtMs = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtBytes = (n) =>
  n >= 1e9
    ? `${(n / 1e9).toFixed(2)} GB`
    : n >= 1e6
      ? `${(n / 1e6).toFixed(1)} MB`
      : `${(n / 1e3).toFixed(1)} KB`;

/**
 * Throughput once the process is up: for bootprobe, the file's size over (median − `bootprobe --version` median of the
 * same run), since a Node process starts in ~60 ms where a C tool starts in ~1 ms; peers as they are.
 */
function netRate(r, x) {
  const startup = byId.startup?.rows.find(
    (y) => y.name === `bootprobe --version${x.name.endsWith(BASELINE) ? BASELINE : ''}`,
  );
  const ms = x.name.startsWith('bootprobe') && startup ? x.medianMs - startup.medianMs : x.medianMs;
  return ms > 0 ? ((r.size / 1e6 / ms) * 1000).toFixed(0) : '-';
}

function table(r) {
  const lines = [];
  const hasStats = r.rows.some((x) => x.stats);
  const head = ['contender', 'median ms', 'min ms', 'vs best peer'];
  if (r.size) head.push('MB/s', 'MB/s after start-up');
  head.push('bytes read (strace)', 'reads');
  if (hasStats) head.push('--stats');
  head.push('peak RSS');
  if (r.digest) head.push(r.id === 'ls' ? 'lines out' : 'sha256');
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const x of r.rows) {
    const cells = [
      x.name + (x === r.best ? ' **(best peer)**' : ''),
      fmtMs(x.medianMs),
      fmtMs(x.minMs),
      r.best ? `${(x.medianMs / r.best.medianMs).toFixed(2)}x` : '-',
    ];
    if (r.size) cells.push(((r.size / 1e6 / x.medianMs) * 1000).toFixed(0), netRate(r, x));
    cells.push(fmtBytes(x.io.bytes), String(x.io.reads));
    if (hasStats) cells.push(x.stats ? `${fmtBytes(x.stats.bytes)} in ${x.stats.reads}` : '-');
    cells.push(`${x.rssMb.toFixed(0)} MB`);
    if (r.digest) cells.push(x.digest);
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const notes = r.rows.filter((x) => x.note).map((x) => `${x.name}: ${x.note}.`);
  if (notes.length) lines.push('', notes.join(' '));
  return lines.join('\n');
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model;
  const v = (cmd, argv, re) => {
    const r = spawnSync(cmd, argv, { encoding: 'utf8' });
    return re.exec(`${r.stdout}\n${r.stderr}`)?.[1] ?? '?';
  };
  return [
    `- CPU: ${cpu}, ${os.cpus().length} cores; RAM ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${os.type()} ${os.release()}`,
    `- load average (1/5/15 min) at the end of the run: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')} (other work on the machine moves medians of short commands by several ms)`,
    `- Node ${process.version}; ntfs-3g tools ${v('ntfscat', ['--version'], /ntfscat v(\S+)/)}; 7-Zip ${v('7z', [], /7-Zip \S* ?([\d.]+)/)}; The Sleuth Kit ${v('fls', ['-V'], /ver (\S+)/)}; qemu-img ${v('qemu-img', ['--version'], /version (\S+)/)}`,
  ].join('\n');
}

const byId = Object.fromEntries(results.map((r) => [r.id, r]));
function summary() {
  const rows = [];
  const row = (what, target, value, ok) =>
    rows.push(`| ${what} | ${target} | ${value} | ${ok ? 'yes' : '**no**'} |`);
  const get = (id, name) => byId[id]?.rows.find((x) => x.name === name);
  const start = byId.startup?.rows[0];
  const bcd = get('cat-bcd', 'bootprobe cat (VHDX)');
  if (bcd) {
    const b = bcd.stats?.bytes ?? bcd.io.bytes;
    row('cat \\Boot\\BCD: bytes read', `≤ 2x the 46 KB floor (92 KB)`, fmtBytes(b), b <= 2 * BCD_FLOOR);
    if (start)
      row(
        'cat \\Boot\\BCD: wall',
        `≤ Node start-up + 20 ms (${fmtMs(start.medianMs + 20)} ms)`,
        `${fmtMs(bcd.medianMs)} ms`,
        bcd.medianMs <= start.medianMs + 20,
      );
  }
  for (const id of ['cat-hive', 'cat-1g']) {
    const me = get(id, 'bootprobe cat (VHDX)');
    const nc = byId[id]?.rows.find((x) => x.name.startsWith('ntfscat'));
    const boot = byId.startup?.rows.find((y) => y.name === 'bootprobe --version');
    if (me && nc && boot)
      row(
        `${byId[id].title}: throughput after start-up`,
        '≥ ntfscat',
        `${(nc.medianMs / (me.medianMs - boot.medianMs)).toFixed(2)}x ntfscat's`,
        me.medianMs - boot.medianMs <= nc.medianMs,
      );
    if (me && nc)
      row(
        `${byId[id].title}: throughput`,
        '≥ ntfscat',
        `${(nc.medianMs / me.medianMs).toFixed(2)}x ntfscat's`,
        me.medianMs <= nc.medianMs,
      );
  }
  const ls = get('ls', 'bootprobe ls -R (VHDX)');
  const nls = byId.ls?.rows.find((x) => x.name.startsWith('ntfsls'));
  const z = byId.ls?.rows.find((x) => x.name.startsWith('7z'));
  if (ls && nls)
    row(
      'ls -R: wall',
      '≤ 1.0x ntfsls -R',
      `${(ls.medianMs / nls.medianMs).toFixed(2)}x`,
      ls.medianMs <= nls.medianMs,
    );
  if (ls && z) {
    const b = ls.stats?.bytes ?? ls.io.bytes;
    row('ls -R: bytes read', `≤ 7-Zip's (${fmtBytes(z.io.bytes)})`, fmtBytes(b), b <= z.io.bytes);
  }
  for (const name of ['bootprobe preflight (4 GiB VHDX)', 'bootprobe preflight (127 GiB VHDX)']) {
    const p = get('preflight', name);
    if (!p) continue;
    const b = p.stats?.bytes ?? p.io.bytes;
    row(`${name.replace('bootprobe ', '')}: wall`, '< 150 ms', `${fmtMs(p.medianMs)} ms`, p.medianMs < 150);
    row(`${name.replace('bootprobe ', '')}: bytes`, '≤ 2x the floor (~100 KB)', fmtBytes(b), b <= 100 * 1024);
  }
  const mine = results.flatMap((r) =>
    r.rows.filter((x) => !x.peer && x.name.startsWith('bootprobe') && !x.name.endsWith(BASELINE)),
  );
  if (mine.length) {
    const worst = mine.reduce((a, b) => (a.rssMb >= b.rssMb ? a : b));
    row(
      'peak RSS, any bootprobe command',
      '< 150 MB',
      `${worst.rssMb.toFixed(0)} MB (${worst.name})`,
      worst.rssMb < 150,
    );
  }
  return ['| target (issue 7) | goal | measured | met |', '|---|---|---|---|', ...rows].join('\n');
}

const imgSize = (f) => (existsSync(f) ? fmtBytes(Number(sh('stat', ['-c', '%s', f]).trim())) : '-');
const md = [
  '# bootprobe benchmark',
  '',
  `Generated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. Images by`,
  `bench/make-images.sh in ${work}: a 4 GiB MBR disk as dynamic VHDX (${imgSize(vhdx)}; the same disk raw for the`,
  'peers), a 100 MiB "System Reserved" NTFS volume holding \\Boot\\BCD and a Windows NTFS volume of ~50,000 files',
  `(one directory of 6,000), a ${fmtBytes(tasks.find((t) => t.id === 'cat-hive').size)} SYSTEM hive, a 1 GiB file and`,
  `a 2 GiB sparse file; plus a 127 GiB dynamic VHDX (${imgSize(vhdx127)} file) with the same partitions.`,
  '',
  'Method: whole processes, stdout to /dev/null, warm page cache, the contenders of a task run in turns',
  `(${WARMUP} untimed rounds, then the timed ones; medians). The peers read the raw disk: ntfscat, ntfsls and`,
  '7-Zip through read-only loop devices set up once (their cost is the losetup row), The Sleuth Kit with',
  '`-o SECTOR`. bootprobe reads the VHDX (and the raw disk, for comparison). Bytes read = what reached the image',
  "file or loop device (strace -y: read/pread64/readv/preadv), one extra untimed run; bootprobe's own `--stats`",
  'beside it. Peak RSS from /usr/bin/time. Ratios are against the fastest peer of the same task.',
  baseline ? `Rows marked [baseline] run ${baseline} (another build) in the same rounds.` : '',
  '',
  '## Machine',
  '',
  machine(),
  '',
  '## Targets',
  '',
  summary(),
  '',
  ...results.flatMap((r) => [`## ${r.title}`, '', table(r), '']),
  hasPreflight
    ? ''
    : '`preflight` is not in this build (`bootprobe preflight --help` fails), so it was not measured.\n',
];
writeFileSync(out, md.join('\n'));
process.stderr.write(`bench: wrote ${out}\n`);
