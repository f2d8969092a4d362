// Checks a written hive against the writer rules of docs/regf.md §8 (steps 3–7) and the layout of §2–§5, cell by cell:
// shared by the writer's unit and corpus suites. Returns every problem found as a sentence ([] = clean). It walks the
// bytes with its own loops and uses only the reader's record decoders, so a writer bug is not hidden by writer code.
import {
  BASE_BLOCK_SIZE,
  DB_SEGMENT_DATA_SIZE,
  decodeNk,
  decodeSk,
  decodeSubkeyList,
  decodeVk,
  lfHint,
  lhHash,
  NK_FLAGS,
  regfChecksum,
  upcaseName,
} from '../../../src/hive/index.js';
import { ByteView } from '../../../src/io/index.js';

export interface LintOptions {
  /** Expect Windows' leaf bound (≤ 507 elements per lf/lh, ri above it): true for our writer's output. */
  leafBound?: boolean;
  /** Expect exact "largest" fields (our writer) rather than ≥ actual (Windows). */
  exactLargest?: boolean;
  /** Expect every allocated cell to be referenced exactly once (a compact rewrite leaks nothing). */
  noLeaks?: boolean;
  /** Expect the first bin to repeat the base-block timestamp (§3; Windows leaves 0 there in some corpus hives). */
  binTimestamp?: boolean;
}

export function lintHive(bytes: Uint8Array, options: LintOptions = {}): string[] {
  const problems: string[] = [];
  const v = new ByteView(bytes, 0, 'hive');
  const p = (s: string) => problems.push(s);
  if (v.ascii(0, 4) !== 'regf') return ['no regf signature'];
  if (regfChecksum(bytes.subarray(0, 512)) !== v.u32le(508)) p('base block checksum wrong');
  if (v.u32le(4) !== v.u32le(8)) p(`sequence numbers ${v.u32le(4)} ≠ ${v.u32le(8)} (dirty)`);
  if (v.u32le(20) !== 1) p('major version ≠ 1');
  const minor = v.u32le(24);
  if (v.u32le(28) !== 0) p('file type ≠ 0');
  if (v.u32le(32) !== 1) p('file format ≠ 1');
  if (v.u32le(44) !== 1) p('clustering factor ≠ 1');
  const binsSize = v.u32le(40);
  if (binsSize % 4096 !== 0 || binsSize === 0) p(`bins size ${binsSize} not a multiple of 4096`);
  if (bytes.length < BASE_BLOCK_SIZE + binsSize) return [...problems, 'file shorter than the bins'];

  // Bins and cells (§3, §4).
  const allocated = new Map<number, number>(); // cell offset → size
  let firstBinTime = 0n;
  for (let pos = 0; pos < binsSize; ) {
    const at = BASE_BLOCK_SIZE + pos;
    if (v.ascii(at, 4) !== 'hbin') return [...problems, `no hbin at ${pos}`];
    if (v.u32le(at + 4) !== pos) p(`bin at ${pos}: offset field ${v.u32le(at + 4)}`);
    const size = v.u32le(at + 8);
    if (size < 4096 || size % 4096 !== 0) return [...problems, `bin at ${pos}: size ${size}`];
    if (pos === 0) firstBinTime = v.u64le(at + 20);
    let c = pos + 32;
    let prevFree = false;
    while (c < pos + size) {
      const raw = v.i32le(BASE_BLOCK_SIZE + c);
      const cs = Math.abs(raw);
      if (cs < 8 || cs % 8 !== 0) return [...problems, `cell at ${c}: size ${raw}`];
      if (c + cs > pos + size) return [...problems, `cell at ${c} crosses its bin`];
      if (raw > 0) {
        if (prevFree) p(`cell at ${c}: two adjacent free cells`);
        prevFree = true;
      } else {
        allocated.set(c, cs);
        prevFree = false;
      }
      c += cs;
    }
    if (c !== pos + size) p(`bin at ${pos}: cells do not tile it`);
    pos += size;
  }
  if (options.binTimestamp && firstBinTime !== v.u64le(12)) p('first bin timestamp ≠ base block timestamp');

  const referenced = new Map<number, number>();
  const cellData = (off: number, what: string): ByteView | null => {
    const size = allocated.get(off);
    if (size === undefined) {
      p(`${what}: ${off} is not an allocated cell`);
      return null;
    }
    referenced.set(off, (referenced.get(off) ?? 0) + 1);
    return v.sub(BASE_BLOCK_SIZE + off + 4, size - 4);
  };

  const skUse = new Map<number, number>();
  const rootOff = v.u32le(36);
  if (rootOff !== 0x20) p(`root at ${rootOff}, not 0x20`);
  const stack: { off: number; parent: number | null; path: string }[] = [
    { off: rootOff, parent: null, path: '\\' },
  ];
  let keys = 0;
  while (stack.length > 0) {
    const { off, parent, path } = stack.pop()!;
    if (++keys > 10_000_000) return [...problems, 'key walk does not end'];
    const d = cellData(off, `key ${path}`);
    if (!d) continue;
    const nk = decodeNk(d);
    if ((parent === null) !== ((nk.flags & NK_FLAGS.HIVE_ENTRY) !== 0)) p(`${path}: HIVE_ENTRY flag wrong`);
    if (parent !== null && nk.parentOffset !== parent)
      p(`${path}: parent ${nk.parentOffset}, expected ${parent}`);
    const compName = /^[\x00-\xff]*$/.test(nk.name);
    if (compName !== ((nk.flags & NK_FLAGS.COMP_NAME) !== 0))
      p(`${path}: COMP_NAME flag does not fit the name`);
    if (nk.volatileSubkeyCount !== 0 || d.u32le(32) !== 0xffffffff) p(`${path}: volatile fields set`);
    skUse.set(nk.securityOffset, (skUse.get(nk.securityOffset) ?? 0) + 1);
    if (nk.classNameOffset !== 0xffffffff) {
      const cd = cellData(nk.classNameOffset, `${path} class`);
      if (cd && cd.length < nk.classNameLength) p(`${path}: class cell too small`);
    } else if (nk.classNameLength !== 0) p(`${path}: class length without a class cell`);
    // Values (§5.2, §5.3).
    let maxVName = 0;
    let maxData = 0;
    if (nk.valueCount > 0) {
      const list = cellData(nk.valueListOffset, `${path} value list`);
      for (let i = 0; list && i < nk.valueCount; i++) {
        const vd = cellData(list.u32le(i * 4), `${path} value ${i}`);
        if (!vd) continue;
        const vk = decodeVk(vd);
        maxVName = Math.max(maxVName, vk.name.length * 2);
        maxData = Math.max(maxData, vk.dataSize);
        if (vk.name !== '' && /^[\x00-\xff]*$/.test(vk.name) !== ((vk.flags & 1) !== 0)) {
          p(`${path} "${vk.name}": COMP_NAME flag does not fit the name`);
        }
        if (vk.dataSize <= 4) {
          if (!vk.inline) p(`${path} "${vk.name}": ${vk.dataSize} bytes not inline`);
          continue;
        }
        if (vk.inline) p(`${path} "${vk.name}": inline with ${vk.dataSize} bytes`);
        const data = cellData(vk.dataOffset, `${path} "${vk.name}" data`);
        if (!data) continue;
        const big = vk.dataSize > DB_SEGMENT_DATA_SIZE && minor >= 4;
        const isDb = data.length >= 8 && data.ascii(0, 2) === 'db';
        if (big !== isDb) p(`${path} "${vk.name}": ${vk.dataSize} bytes, db ${isDb} in a 1.${minor} hive`);
        if (isDb) {
          const n = data.u16le(2);
          if (n !== Math.ceil(vk.dataSize / DB_SEGMENT_DATA_SIZE)) p(`${path} "${vk.name}": ${n} segments`);
          const segs = cellData(data.u32le(4), `${path} "${vk.name}" segment list`);
          for (let s = 0; segs && s < n; s++) {
            const seg = cellData(segs.u32le(s * 4), `${path} "${vk.name}" segment ${s}`);
            if (seg && seg.length + 4 !== 16352)
              p(`${path} "${vk.name}": segment cell of ${seg.length + 4} bytes`);
          }
        } else if (data.length < vk.dataSize) p(`${path} "${vk.name}": data cell too small`);
      }
    }
    // Subkeys (§5.5).
    const children: { off: number; name: string; className: number }[] = [];
    if (nk.subkeyCount > 0) {
      const top = cellData(nk.subkeyListOffset, `${path} subkey list`);
      if (!top) continue;
      const list = decodeSubkeyList(top);
      const leaves = list.kind === 'ri' ? list.offsets.map((o) => cellData(o, `${path} ri leaf`)) : [top];
      for (const leafView of leaves) {
        if (!leafView) continue;
        const leaf = decodeSubkeyList(leafView);
        const want = minor >= 5 ? 'lh' : 'lf';
        if (leaf.kind !== want) p(`${path}: ${leaf.kind} list in a 1.${minor} hive`);
        if (options.leafBound && leaf.offsets.length > 507)
          p(`${path}: leaf of ${leaf.offsets.length} elements`);
        leaf.offsets.forEach((o, i) => {
          const cd = cellData(o, `${path} subkey`);
          referenced.set(o, referenced.get(o)! - 1); // counted again when the child is walked
          if (!cd) return;
          const child = decodeNk(cd);
          const hint =
            leaf.kind === 'lh' ? lhHash(child.name) : leaf.kind === 'lf' ? lfHint(child.name) : null;
          if (hint !== null && leaf.hints[i] !== hint) p(`${path}\\${child.name}: ${leaf.kind} hint wrong`);
          children.push({ off: o, name: child.name, className: child.classNameLength });
        });
      }
      if (options.leafBound && list.kind !== 'ri' && nk.subkeyCount > 507)
        p(`${path}: no ri above 507 subkeys`);
    }
    if (children.length !== nk.subkeyCount)
      p(`${path}: ${children.length} subkeys listed, ${nk.subkeyCount} counted`);
    for (let i = 1; i < children.length; i++) {
      if (!(upcaseName(children[i - 1]!.name) < upcaseName(children[i]!.name))) {
        p(`${path}: "${children[i - 1]!.name}" and "${children[i]!.name}" out of order`);
      }
    }
    const maxName = Math.max(0, ...children.map((c) => c.name.length * 2));
    const maxClass = Math.max(0, ...children.map((c) => c.className));
    const cmp = options.exactLargest ? (a: number, b: number) => a === b : (a: number, b: number) => a >= b;
    if (!cmp(nk.largestSubkeyNameLength, maxName))
      p(`${path}: largest subkey name ${nk.largestSubkeyNameLength}, ${maxName}`);
    if (!cmp(nk.largestSubkeyClassLength, maxClass))
      p(`${path}: largest subkey class ${nk.largestSubkeyClassLength}`);
    if (!cmp(nk.largestValueNameLength, maxVName))
      p(`${path}: largest value name ${nk.largestValueNameLength}, ${maxVName}`);
    if (!cmp(nk.largestValueDataSize, maxData))
      p(`${path}: largest value data ${nk.largestValueDataSize}, ${maxData}`);
    for (const c of children.reverse())
      stack.push({ off: c.off, parent: off, path: `${path === '\\' ? '' : path}\\${c.name}` });
  }

  // Security ring (§5.4): every sk in use, flink/blink consistent, refcount = users.
  const skOffs = [...skUse.keys()];
  for (const off of skOffs) {
    const d = cellData(off, 'sk');
    if (!d) continue;
    const sk = decodeSk(d);
    if (sk.referenceCount !== skUse.get(off))
      p(`sk ${off}: refcount ${sk.referenceCount}, used ${skUse.get(off)}`);
    if (!skUse.has(sk.flink) || !skUse.has(sk.blink)) p(`sk ${off}: ring leaves the set of used sk records`);
    const next = v.sub(BASE_BLOCK_SIZE + sk.flink + 4, 20);
    if (next.u32le(8) !== off) p(`sk ${off}: next record's blink does not point back`);
  }
  if (skOffs.length > 0) {
    const seen = new Set<number>();
    let cur = skOffs[0]!;
    while (!seen.has(cur) && seen.size <= skOffs.length) {
      seen.add(cur);
      cur = v.u32le(BASE_BLOCK_SIZE + cur + 4 + 4);
    }
    if (seen.size !== skOffs.length) p(`sk ring holds ${seen.size} records, ${skOffs.length} in use`);
  }
  if (options.noLeaks) {
    for (const [off] of allocated) {
      const n = referenced.get(off) ?? 0;
      if (n !== 1) p(`cell ${off} referenced ${n} times`);
    }
  }
  return problems;
}
