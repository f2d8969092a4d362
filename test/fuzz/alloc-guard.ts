// The allocation half of the issue 8 pass rule: "no single allocation larger than the structure that asked for it can
// justify". While a case runs, the constructors that take a length from their caller (typed arrays, ArrayBuffer,
// Array, Buffer.alloc*, String#repeat/padStart/padEnd) are wrapped so that a request above the case's bound is
// recorded with its stack (which names the src/ line that asked) and refused with AllocationBoundError before any
// memory is spent. The bound is the case's input (image bytes, parents, hive, executable) plus what the caller itself
// asked to read: a parser needs no buffer larger than the bytes it parses, whatever a damaged field claims.

export class AllocationBoundError extends Error {
  override name = 'AllocationBoundError';
}

export interface Allocation {
  bytes: number;
  what: string;
  stack: string;
}

const TYPED = [
  'Uint8Array',
  'Int8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
] as const;

let limit = Number.POSITIVE_INFINITY;
let largest = 0;
let violations: Allocation[] = [];
const restore: (() => void)[] = [];

/** Bytes a constructor call would allocate, from its arguments (0 when it only views an existing buffer). */
function requested(args: unknown[], perElement: number): number {
  const a = args[0];
  if (typeof a === 'number') return a * perElement;
  if (typeof a === 'bigint') return Number(a) * perElement;
  if (
    a instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && a instanceof SharedArrayBuffer)
  )
    return 0;
  if (a !== null && typeof a === 'object' && 'length' in a) {
    const n = Number((a as { length: unknown }).length);
    return Number.isFinite(n) ? n * perElement : 0;
  }
  return 0;
}

/** Set while a stack is being captured: formatting it (vite's source maps) allocates too, and is not the case's. */
let capturing = false;

function check(bytes: number, what: string): void {
  if (!(bytes > 0) || capturing) return;
  if (bytes > largest && Number.isFinite(limit)) largest = bytes;
  if (bytes <= limit) return;
  capturing = true;
  let stack: string;
  try {
    stack = new Error().stack ?? '';
  } finally {
    capturing = false;
  }
  violations.push({ bytes, what, stack: stack.split('\n').slice(3).join('\n') });
  throw new AllocationBoundError(`${what} of ${bytes} bytes, above the case bound of ${limit}`);
}

function wrapConstructor(name: string, perElement: number): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const original = g[name] as (new (...a: unknown[]) => unknown) & ((...a: unknown[]) => unknown);
  if (typeof original !== 'function') return;
  const proxy: typeof original = new Proxy(original, {
    construct(target, args, newTarget): object {
      check(requested(args, perElement), `new ${name}`);
      return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
    },
    apply(target, self, args): unknown {
      // Array(n) without `new` allocates as well.
      check(requested(args, perElement), name);
      return Reflect.apply(target, self, args);
    },
  });
  g[name] = proxy;
  restore.push(() => {
    g[name] = original;
  });
}

function wrapMethod(
  owner: Record<string, unknown>,
  name: string,
  bytesOf: (self: unknown, args: unknown[]) => number,
) {
  const original = owner[name] as (...a: unknown[]) => unknown;
  const label = name;
  owner[name] = function (this: unknown, ...args: unknown[]) {
    check(bytesOf(this, args), label);
    return original.apply(this, args);
  };
  restore.push(() => {
    owner[name] = original;
  });
}

/** Wraps the allocating constructors for the rest of the run; call the returned function to unwrap. */
export function installAllocationGuard(): () => void {
  if (restore.length) return uninstall;
  for (const name of TYPED) {
    const ctor = (globalThis as unknown as Record<string, { BYTES_PER_ELEMENT: number }>)[name]!;
    wrapConstructor(name, ctor.BYTES_PER_ELEMENT);
  }
  wrapConstructor('ArrayBuffer', 1);
  if (typeof SharedArrayBuffer !== 'undefined') wrapConstructor('SharedArrayBuffer', 1);
  // Counted in elements: an array with one entry per input byte (hex text of a value) is what its input justifies.
  wrapConstructor('Array', 1);
  const buffer = (globalThis as unknown as { Buffer?: Record<string, unknown> }).Buffer;
  if (buffer) {
    for (const m of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'])
      wrapMethod(buffer, m, (_s, a) => Number(a[0]) || 0);
  }
  const strings = String.prototype as unknown as Record<string, unknown>;
  wrapMethod(strings, 'repeat', (s, a) => String(s).length * (Number(a[0]) || 0) * 2);
  wrapMethod(strings, 'padStart', (_s, a) => (Number(a[0]) || 0) * 2);
  wrapMethod(strings, 'padEnd', (_s, a) => (Number(a[0]) || 0) * 2);
  return uninstall;
}

function uninstall(): void {
  while (restore.length) restore.pop()!();
}

/**
 * Runs `fn` with allocations bounded by `bound` bytes. Returns the violations seen (each refused with
 * AllocationBoundError, which `fn` may have caught: the record stays) and the largest allocation that passed.
 */
export async function withAllocationBound<T>(
  bound: number,
  fn: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; violations: Allocation[]; largest: number }> {
  limit = bound;
  largest = 0;
  violations = [];
  try {
    const result = await fn();
    return { result, error: undefined, violations, largest };
  } catch (error) {
    return { result: undefined, error, violations, largest };
  } finally {
    limit = Number.POSITIVE_INFINITY;
  }
}

/** The first stack frame under src/, as `src/x/y.ts:LINE`, to name the line that asked. */
export function srcFrame(stack: string): string | null {
  for (const line of stack.split('\n')) {
    const m = /\/(src\/[^\s:()]+):(\d+)/.exec(line);
    if (m) return `${m[1]}:${m[2]}`;
  }
  return null;
}
