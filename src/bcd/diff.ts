// The dry run of a repair (issue 6 "Output modes"): the store before and after as two `bcdedit /enum all` listings
// (render.ts) and a unified diff of them, the format `diff -u` prints and `patch` applies. The line diff is a longest
// common subsequence over the lines left after the common head and tail are cut off; a store listing is at most a
// few thousand lines, and past MAX_LCS_CELLS the middle is shown as replaced whole (still a correct diff, only not a
// minimal one) so memory stays bounded.
import type { RenderBcdOptions } from './render.js';
import { renderBcd } from './render.js';
import type { BcdStore } from './store.js';

/** DP table cells allowed (4 bytes each: 16 MiB). */
export const MAX_LCS_CELLS = 4_000_000;

export interface DiffLine {
  /** ' ' kept, '-' only in the old text, '+' only in the new. */
  readonly op: ' ' | '-' | '+';
  readonly text: string;
}

/** The edit script turning `a` into `b`, line by line. */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const out: DiffLine[] = a.slice(0, head).map((text) => ({ op: ' ', text }));
  const n = am.length;
  const m = bm.length;
  if ((n + 1) * (m + 1) > MAX_LCS_CELLS) {
    for (const text of am) out.push({ op: '-', text });
    for (const text of bm) out.push({ op: '+', text });
  } else {
    // lcs[i][j] = LCS length of am[i..] and bm[j..], row-major in one typed array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          am[i] === bm[j]
            ? lcs[(i + 1) * w + j + 1]! + 1
            : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: ' ', text: am[i]! });
        i++;
        j++;
      } else if (j === m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // On a tie the deletion goes first, so a changed line prints as '-' then '+' (as diff -u does).
        out.push({ op: '-', text: am[i]! });
        i++;
      } else {
        out.push({ op: '+', text: bm[j]! });
        j++;
      }
    }
  }
  for (const text of a.slice(a.length - tail)) out.push({ op: ' ', text });
  return out;
}

export interface UnifiedDiffOptions {
  /** Names on the `---` and `+++` lines. */
  readonly fromLabel?: string;
  readonly toLabel?: string;
  /** Unchanged lines around each change (diff -u: 3). */
  readonly context?: number;
}

/** Lines of a text; `last` says whether the text ended with a newline. */
function splitText(s: string): { lines: string[]; endsWithNewline: boolean } {
  if (s === '') return { lines: [], endsWithNewline: true };
  const endsWithNewline = s.endsWith('\n');
  const lines = (endsWithNewline ? s.slice(0, -1) : s).split('\n');
  return { lines, endsWithNewline };
}

/** GNU's hunk range: "start,count", the count left out when 1, the start one before the hunk when empty. */
function range(start: number, count: number): string {
  if (count === 1) return `${start + 1}`;
  return `${count === 0 ? start : start + 1},${count}`;
}

/** A unified diff of two texts (empty when they are equal), as `diff -u` prints it less the timestamps. */
export function unifiedDiff(a: string, b: string, options: UnifiedDiffOptions = {}): string {
  if (a === b) return '';
  const context = options.context ?? 3;
  const A = splitText(a);
  const B = splitText(b);
  // A last line without its newline differs from the same line with one (diff marks it "\ No newline").
  const al = A.lines.map((l, i) => (i === A.lines.length - 1 && !A.endsWithNewline ? `${l}\0` : l));
  const bl = B.lines.map((l, i) => (i === B.lines.length - 1 && !B.endsWithNewline ? `${l}\0` : l));
  const ops = diffLines(al, bl);
  const out = [`--- ${options.fromLabel ?? 'before'}`, `+++ ${options.toLabel ?? 'after'}`];
  // Positions of each op in a and b.
  const pos: { ai: number; bi: number }[] = [];
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    pos.push({ ai, bi });
    if (op.op !== '+') ai++;
    if (op.op !== '-') bi++;
  }
  const changed = ops.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    // Grow a hunk while at most 2 × context unchanged lines separate the next change from the last (as GNU does).
    let end = changed[k]!;
    let next = k + 1;
    while (next < changed.length && changed[next]! - end - 1 <= 2 * context) end = changed[next++]!;
    const from = Math.max(0, changed[k]! - context);
    const to = Math.min(ops.length - 1, end + context);
    let aCount = 0;
    let bCount = 0;
    const body: string[] = [];
    for (let x = from; x <= to; x++) {
      const op = ops[x]!;
      if (op.op !== '+') aCount++;
      if (op.op !== '-') bCount++;
      const noNewline = op.text.endsWith('\0');
      body.push(`${op.op}${noNewline ? op.text.slice(0, -1) : op.text}`);
      if (noNewline) body.push('\\ No newline at end of file');
    }
    out.push(`@@ -${range(pos[from]!.ai, aCount)} +${range(pos[from]!.bi, bCount)} @@`, ...body);
    k = next;
  }
  return `${out.join('\n')}\n`;
}

export interface BcdListingDiff {
  readonly before: string;
  readonly after: string;
  /** Unified diff of the two listings; '' when the store did not change. */
  readonly diff: string;
}

/** The two `bcdedit /enum all` listings of a store before and after a repair, and their unified diff. */
export function bcdListingDiff(
  before: BcdStore,
  after: BcdStore,
  options: RenderBcdOptions & UnifiedDiffOptions = {},
): BcdListingDiff {
  const b = renderBcd(before, options);
  const a = renderBcd(after, options);
  return { before: b, after: a, diff: unifiedDiff(b, a, options) };
}
