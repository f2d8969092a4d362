// Structure-aware fuzzing (issue 8): real fixtures, mutated where their structures live (headers, tables, records,
// chains, cells, BCD device descriptors, PE headers and resources), with checksums recomputed half of the time so
// mutations reach past them, then run through what the commands do, in-process. Pass rule for every case: each step
// ends in success or a BootprobeError, the case takes under 2 s, and no single allocation exceeds what the case's
// input can justify (alloc-guard.ts).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Allocation, installAllocationGuard, srcFrame, withAllocationBound } from './alloc-guard.js';
import { bcdSubjects } from './bcd-subjects.js';
import { PatchedDevice, pick, rng } from './bytes.js';
import { exerciseBcdFile, exerciseHive, exerciseImage, exercisePe, memoryFiles, Steps } from './exercise.js';
import { imageSubjects } from './image-subjects.js';
import { peSubject } from './pe-subject.js';
import type { Subject } from './subject.js';

export { PatchedDevice } from './bytes.js';
export type { Subject } from './subject.js';

/** Issue 8: no case over 2 s. */
export const CASE_MS = 2000;
/** A case still running after this long is taken as hung: the run stops and reports it. */
const HANG_MS = 20000;
/**
 * What a case may allocate beyond its input: the largest read a command asks for itself (cat and extract stream in
 * 4 MiB chunks; the convert reads here take 1 MiB) plus 64 KiB for headers and tables.
 */
const IMAGE_SLACK = (4 << 20) + 65536;
const FILE_SLACK = 65536;
/**
 * A hive's text renderings are bigger than the hive: `reg export` writes each data byte as "xx," plus a line break
 * every 25 bytes (about 3.2 bytes per byte), --json doubles it as hex. Four times the input bounds any of them.
 */
const TEXT_EXPANSION = 4;

let subjectsCache: Subject[] | null = null;

/** Cases per schedule round for the subjects that cost a few milliseconds a case (subject.ts `weight`). */
const WEIGHTS: Record<string, number> = {
  'vhd-dynamic': 3,
  'vhd-differencing': 3,
  'vhdx-dynamic': 3,
  'vhdx-differencing': 3,
  'vhd-fixed': 2,
  'vhdx-log': 3,
  'types-v15.hiv': 2,
  'bcd-store': 3,
  'pe-nsis-setup': 4,
};

/** Every fuzzed fixture. Built once per process. */
export async function subjects(): Promise<Subject[]> {
  if (!subjectsCache) {
    subjectsCache = [...imageSubjects(), ...(await bcdSubjects()), peSubject()];
    for (const s of subjectsCache) s.weight ??= WEIGHTS[s.name];
  }
  return subjectsCache;
}

/** Builds the mutated input of case `seed` for a subject; `label` says what the mutation did. */
export function mutate(subject: Subject, seed: number): { dev: PatchedDevice; label: string } {
  const next = rng(seed);
  const patches = new Map<number, number>();
  let size = subject.bytes.length;
  let label: string | null = null;
  const mode = next() % 10;
  if (mode === 0 && subject.cuts.length) {
    size = Math.max(0, Math.min(size, pick(next, subject.cuts) + (next() % 3) - 1));
    label = `cut at ${size}`;
  } else {
    label = subject.mutate ? subject.mutate(next, patches) : null;
    if (label === null) {
      const n = 1 + (next() % 6);
      for (let i = 0; i < n; i++) {
        const r = pick(next, subject.hot);
        const at = r.at + (next() % Math.max(1, r.len));
        const strategy = next() % 5;
        const width = pick(next, [1, 2, 4, 8]);
        for (let k = 0; k < width; k++) {
          const v =
            strategy === 0
              ? next() & 0xff
              : strategy === 1
                ? 0
                : strategy === 2
                  ? 0xff
                  : strategy === 3
                    ? k === width - 1
                      ? 0x7f
                      : 0xff
                    : subject.bytes[(at + (next() % 4096)) % subject.bytes.length]!;
          patches.set(at + k, v);
        }
      }
      label = `${n} byte runs`;
    }
  }
  const dev = new PatchedDevice(subject.bytes, patches, size);
  if (subject.fix && next() % 2 === 0 && size === subject.bytes.length) {
    subject.fix(dev, patches);
    label += ', checksums fixed';
  }
  return { dev, label };
}

export interface CaseResult {
  outcome: 'ok' | 'typed' | 'failed';
  error: string | null;
  ms: number;
  /** Milliseconds per step. */
  steps: Map<string, number>;
  allocations: Allocation[];
  largest: number;
  codes: Map<string, number>;
}

const baselines = new WeakMap<Subject, ReadonlySet<string>>();

/**
 * The error codes the pristine fixture itself ends steps in (FS_UNKNOWN for a container fixture with no file system,
 * HIVE_DIRTY for the stand-in BCD file of the FAT fixtures, PE_INVALID for the template's placeholder bootmgr): a
 * mutated case ending only in these counts as ok, not as a typed error.
 */
export async function baseline(subject: Subject): Promise<ReadonlySet<string>> {
  let codes = baselines.get(subject);
  if (!codes) {
    const c = await runSteps(
      subject,
      new PatchedDevice(subject.bytes, new Map(), subject.bytes.length),
      new Set(),
    );
    if (c.error) throw new Error(`fuzz: the unmutated ${subject.name} fails: ${c.error}`);
    codes = new Set(c.codes.keys());
    baselines.set(subject, codes);
  }
  return codes;
}

/** Runs one input of a subject through everything its kind does, under the allocation bound. */
export async function runCase(subject: Subject, dev: PatchedDevice): Promise<CaseResult> {
  return runSteps(subject, dev, await baseline(subject));
}

async function runSteps(
  subject: Subject,
  dev: PatchedDevice,
  expected: ReadonlySet<string>,
): Promise<CaseResult> {
  const files = subject.files;
  const inputBytes = dev.size + Object.values(files ?? {}).reduce((n, b) => n + b.length, 0);
  const bound =
    subject.kind === 'image'
      ? inputBytes + IMAGE_SLACK
      : (subject.kind === 'pe' ? inputBytes : inputBytes * TEXT_EXPANSION) + FILE_SLACK;
  const steps = new Steps(expected);
  dev.seal();
  const t0 = performance.now();
  const work = withAllocationBound(bound, async () => {
    if (subject.kind === 'image') await exerciseImage(dev, files ? memoryFiles(files) : undefined, steps);
    else if (subject.kind === 'hive') await exerciseHive(dev, steps);
    else if (subject.kind === 'bcd') await exerciseBcdFile(dev, steps);
    else await exercisePe(dev, steps);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), HANG_MS);
  });
  const r = await Promise.race([work, hung]);
  clearTimeout(timer);
  const ms = performance.now() - t0;
  if (r === 'hung') {
    return {
      outcome: 'failed',
      error: `hung: no end after ${HANG_MS} ms`,
      ms,
      steps: steps.times,
      allocations: [],
      largest: 0,
      codes: steps.codes,
    };
  }
  let error: string | null = null;
  if (r.violations.length) {
    const v = r.violations[0]!;
    error = `allocation of ${v.bytes} bytes (${v.what}) above the bound ${bound} at ${srcFrame(v.stack) ?? '?'}\n${v.stack}`;
  } else if (r.error !== undefined) {
    const e = r.error;
    error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
  } else if (ms > CASE_MS) error = `case took ${ms.toFixed(0)} ms`;
  return {
    outcome: error ? 'failed' : steps.typed ? 'typed' : 'ok',
    error,
    ms,
    steps: steps.times,
    allocations: r.violations,
    largest: r.largest,
    codes: steps.codes,
  };
}

export interface Failure {
  subject: string;
  seed: number;
  label: string;
  error: string;
  input: Uint8Array;
}

export interface Tally {
  cases: number;
  ok: number;
  typed: number;
  failed: number;
  slowest: number;
  totalMs: number;
}

export interface FuzzResult extends Tally {
  format: string;
  failures: Failure[];
  /** Per subject of this format. */
  subjects: Record<string, Tally>;
  /** BootprobeError codes the cases ended in, with how often. */
  codes: Record<string, number>;
  /** Milliseconds spent per step over all cases of this format. */
  steps: Record<string, number>;
}

const tally = (): Tally => ({ cases: 0, ok: 0, typed: 0, failed: 0, slowest: 0, totalMs: 0 });

/** FUZZ_TRACE=FILE keeps the case being run in FILE, to find the input that killed a run. */
const trace = process.env.FUZZ_TRACE;

/** The order subjects take cases in: rounds in which each subject appears as many times as its weight. */
export function schedule(list: readonly Subject[]): Subject[] {
  const order: Subject[] = [];
  const rounds = Math.max(...list.map((s) => s.weight ?? 1));
  for (let r = 0; r < rounds; r++) for (const s of list) if ((s.weight ?? 1) > r) order.push(s);
  return order;
}

/** Runs `cases` cases spread over every subject by weight, from `seed`. */
export async function runFuzz(cases: number, seed: number, onlyFormat?: string): Promise<FuzzResult[]> {
  const list = schedule(
    (await subjects()).filter((s) => !onlyFormat || s.format === onlyFormat || s.name === onlyFormat),
  );
  const results = new Map<string, FuzzResult>();
  const uninstall = installAllocationGuard();
  try {
    for (const s of new Set(list)) await baseline(s);
    for (let i = 0; i < cases; i++) {
      const s = list[i % list.length]!;
      const caseSeed = (seed * 1000003 + i) >>> 0;
      let r = results.get(s.format);
      if (!r) {
        r = { format: s.format, ...tally(), failures: [], subjects: {}, codes: {}, steps: {} };
        results.set(s.format, r);
      }
      r.subjects[s.name] ??= tally();
      const t = r.subjects[s.name]!;
      const { dev, label } = mutate(s, caseSeed);
      if (trace) writeFileSync(trace, `${i} ${s.name} ${caseSeed} ${label}\n`);
      const c = await runCase(s, dev);
      for (const x of [r, t]) {
        x.cases++;
        x[c.outcome]++;
        x.slowest = Math.max(x.slowest, c.ms);
        x.totalMs += c.ms;
      }
      for (const [code, n] of c.codes) r.codes[code] = (r.codes[code] ?? 0) + n;
      for (const [step, ms] of c.steps) r.steps[step] = (r.steps[step] ?? 0) + ms;
      if (c.error)
        r.failures.push({ subject: s.name, seed: caseSeed, label, error: c.error, input: dev.materialize() });
      if (c.error?.startsWith('hung')) break;
    }
  } finally {
    uninstall();
  }
  return [...results.values()];
}

/** The table printed at the end of a run (and quoted in the README): cases per format and per subject. */
export function summary(results: FuzzResult[], seconds: number): string {
  const total = results.reduce((n, r) => n + r.cases, 0);
  const row = (name: string, t: Tally) =>
    `${name.padEnd(22)} ${String(t.cases).padStart(7)} ${String(t.ok).padStart(7)} ${String(t.typed).padStart(7)} ${String(t.failed).padStart(6)} ${(t.totalMs / Math.max(1, t.cases)).toFixed(1).padStart(7)} ${t.slowest.toFixed(0).padStart(7)}`;
  const lines = [
    `fuzz: ${total} cases in ${seconds.toFixed(1)} s`,
    `${'format / subject'.padEnd(22)} ${'cases'.padStart(7)} ${'ok'.padStart(7)} ${'typed'.padStart(7)} ${'failed'.padStart(6)} ${'avg ms'.padStart(7)} ${'max ms'.padStart(7)}`,
  ];
  for (const r of results) {
    lines.push(row(r.format, r));
    for (const [name, t] of Object.entries(r.subjects)) lines.push(row(`  ${name}`, t));
  }
  return lines.join('\n');
}

/** Regression fixtures: test/fixtures/fuzz/<subject>-<sha256 prefix>.bin.gz. */
export function crasherName(f: { subject: string; input: Uint8Array }): string {
  return `${f.subject}-${createHash('sha256').update(f.input).digest('hex').slice(0, 16)}.bin.gz`;
}

/** The subject a regression fixture was made from (its name up to the hash). */
export async function subjectOf(fileName: string): Promise<Subject | null> {
  const m = /^(.*)-[0-9a-f]{16}\.bin\.gz$/.exec(fileName);
  return m ? ((await subjects()).find((s) => s.name === m[1]) ?? null) : null;
}
