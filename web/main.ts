// The offline page (issue 10 "The web page"): choose or drop a template (VHD, VHDX, raw) or a BCD file, with the
// parents of a differencing disk, and see what `bootprobe preflight` and `bootprobe bcd` say about it; choose a
// folder and get the `scan` table. Files are read with File.slice() through the core (src/browser.ts), only the bytes
// needed. Nothing is sent anywhere: the page has no fetch, no XHR, no external resource, and its CSP forbids them.
// Every text that comes from an image is put in the DOM as text (textContent), never as markup.
import {
  BootprobeError,
  FileListAccess,
  generalizeIntoChild,
  generalizeStore,
  type Inspection,
  type IoStats,
  inspect,
  type NamedBlob,
  newIoStats,
  type PreflightReport,
  type RepairPlan,
  type ScanOutcome,
  type ScanRow,
  scanOrder,
  scanRow,
  scanSummary,
} from '../src/browser.js';

declare const __VERSION__: string;

/** A chosen file and the path it goes by (inside a chosen folder, or its name). */
interface Chosen {
  path: string;
  file: File;
}

/** One pre-flighted file: its inspection or the error that made it unreadable, and what reading it cost. */
interface Outcome {
  chosen: Chosen;
  /** The path shown: inside the chosen folder for a scan (as `bootprobe scan` prints it), else the name. */
  display: string;
  result: Inspection | null;
  error: BootprobeError | null;
  stats: IoStats;
  ms: number;
}

/** Hive logs travel with their store; they are companions, not inputs (regf.md §7). */
const LOG_NAME = /\.log\d?$/i;
/** Dropped folders are walked like `scan` walks them: bounded in depth, and in entries so a huge tree cannot hang. */
const MAX_DROP_DEPTH = 32;
const MAX_DROP_FILES = 20000;

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};

type Child = Node | string | null | undefined | false;

/** Makes an element; attributes are set as attributes, children appended as nodes or text (never parsed as HTML). */
function h(
  tag: string,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
};

const yesNo = (b: boolean | null): string => (b === null ? 'unknown' : b ? 'yes' : 'no');

function setStatus(text: string, error = false): void {
  const el = byId('status');
  el.textContent = text;
  el.classList.toggle('error', error);
}

const customization = (): boolean => byId<HTMLInputElement>('customization').checked;

/** Pre-flights one chosen file, its parents and logs found among all the chosen files. */
async function run(chosen: Chosen, all: readonly Chosen[], display: string): Promise<Outcome> {
  const stats = newIoStats();
  const files = new FileListAccess(
    all.map((c): NamedBlob => ({ path: c.path, blob: c.file })),
    stats,
  );
  const start = performance.now();
  try {
    const result = await inspect(chosen.file, {
      name: chosen.path,
      files,
      stats,
      customization: customization(),
    });
    return { chosen, display, result, error: null, stats, ms: performance.now() - start };
  } catch (e) {
    if (!(e instanceof BootprobeError)) throw e;
    return { chosen, display, result: null, error: e, stats, ms: performance.now() - start };
  }
}

// ---- one file ------------------------------------------------------------------------------------------------

function renderChecks(r: PreflightReport): HTMLElement {
  return h(
    'ol',
    { class: 'checks', 'data-testid': 'checks' },
    ...r.checks.map((c) =>
      h(
        'li',
        { class: 'check', 'data-testid': 'check', 'data-id': c.id, 'data-status': c.status },
        h('span', { class: 'status' }, c.status),
        h('span', { class: 'id' }, c.id),
        h('span', { class: 'message' }, c.message),
        c.fix ? h('span', { class: 'fix' }, c.fix) : null,
      ),
    ),
  );
}

function summaryLine(r: PreflightReport): string {
  if (r.disk === null) return `store checked on its own (no image); generalized: ${yesNo(r.generalized)}`;
  return [
    `boot volume: ${r.bootVolume ? `partition ${r.bootVolume.partition} ${r.bootVolume.bcdPath}` : 'none'}`,
    `Windows volume: ${r.windowsVolume ? `partition ${r.windowsVolume.partition}` : 'none'}`,
    `store generalized: ${yesNo(r.generalized)}`,
  ].join('; ');
}

function table(
  head: string[],
  rows: (string | Node)[][],
  rowAttrs?: (i: number) => Record<string, string>,
): HTMLElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', {}, c)))),
    h('tbody', {}, ...rows.map((r, i) => h('tr', rowAttrs?.(i) ?? {}, ...r.map((c) => h('td', {}, c))))),
  );
}

function facts(pairs: [string, string | null | undefined][]): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '') continue;
    dl.append(h('dt', {}, k), h('dd', {}, v));
  }
  return dl;
}

function renderDisk(res: Inspection): HTMLElement {
  const r = res.report;
  const box = h('div', { 'data-testid': 'disk' }, h('h2', {}, 'Disk'));
  const info = res.image;
  if (info) {
    const chain: string[] = [];
    for (let p = info.parent, n = 0; p && n < 64; p = p.info.parent, n++)
      chain.push(`${p.path} (${p.info.format} ${p.info.variant ?? ''})`.trim());
    box.append(
      facts([
        ['container', `${info.format.toUpperCase()}${info.variant ? ` ${info.variant}` : ''}`],
        ['virtual size', `${bytes(info.virtualSize)} (${info.virtualSize} bytes)`],
        ['file size', bytes(info.fileSize)],
        ['sector size', `${info.logicalSectorSize} logical, ${info.physicalSectorSize} physical`],
        ['block size', info.blockSize ? bytes(info.blockSize) : null],
        ['creator', info.creator],
        ['parents', chain.length ? chain.join(' → ') : null],
        ['partition style', r.disk ? r.disk.scheme.toUpperCase() : null],
        ['disk signature', r.disk?.signature],
        ['disk GUID', r.disk?.guid],
        ['MBR boot code', r.disk?.mbrBootCode],
        [
          'firmware / generation',
          r.firmware ? `${r.firmware.toUpperCase()}, generation ${r.generation ?? '?'}` : null,
        ],
      ]),
    );
    for (const w of res.imageWarnings) box.append(h('p', { class: 'muted' }, `note: ${w}`));
  }
  if (r.disk) {
    box.append(
      h('h3', {}, 'Partitions and file systems'),
      table(
        ['#', 'start', 'size', 'type', 'active', 'file system', 'label', 'boot sector', 'Windows', 'store'],
        r.disk.volumes.map((v) => [
          `${v.partition}`,
          `${v.start}`,
          bytes(v.size),
          v.type,
          v.active ? 'yes' : '',
          v.filesystem ?? '—',
          v.label ?? '',
          v.bootSectorType,
          v.windows ? 'yes' : '',
          v.bcd ?? '',
        ]),
      ),
    );
  }
  return box;
}

function renderWalk(r: PreflightReport): HTMLElement {
  const box = h('div', { 'data-testid': 'boot-walk' }, h('h2', {}, 'Boot walk'));
  if (r.candidates.length) {
    box.append(
      table(
        ['partition', 'looked at as', 'taken', 'why'],
        r.candidates.map((c) => [`${c.partition}`, c.role, c.taken ? 'taken' : 'passed over', c.reason]),
        (i): Record<string, string> =>
          r.candidates[i]!.taken
            ? { class: 'taken', 'data-testid': 'candidate' }
            : { 'data-testid': 'candidate' },
      ),
    );
  } else {
    box.append(
      h(
        'p',
        { class: 'muted' },
        r.disk ? 'no volume could be a boot volume' : 'a store file: no disk to walk',
      ),
    );
  }
  box.append(
    h(
      'details',
      {},
      h('summary', {}, 'SCVMM-style trace'),
      h('pre', { 'data-testid': 'trace' }, r.trace.join('\n')),
    ),
  );
  return box;
}

function renderWindows(r: PreflightReport): HTMLElement {
  const box = h('div', { 'data-testid': 'windows' }, h('h2', {}, 'Windows'));
  const w = r.windows;
  if (!w) {
    box.append(
      h(
        'p',
        { class: 'muted' },
        r.disk ? 'no Windows installation was reached' : 'a store file: no Windows to read',
      ),
    );
    return box;
  }
  const product = [w.productName, w.editionId, w.displayVersion].filter(Boolean).join(', ');
  box.append(
    facts([
      ['partition', `${w.partition}`],
      ['product', product || 'unknown'],
      [
        'version',
        w.version &&
          `${w.version}${w.currentBuild ? ` build ${w.currentBuild}${w.ubr !== null ? `.${w.ubr}` : ''}` : ''}`,
      ],
      ['architecture', w.architecture],
      ['kernel', w.kernelVersion],
      ['installation type', w.installationType],
      ['ImageState (State.ini)', w.imageState],
      ['ImageState (registry)', w.imageStateRegistry],
      ['sysprep generalized', yesNo(w.generalized)],
      [
        'SYSTEM\\Setup',
        w.setup
          ? `SystemSetupInProgress ${w.setup.systemSetupInProgress ?? '-'}, SetupType ${w.setup.setupType ?? '-'}, OOBEInProgress ${w.setup.oobeInProgress ?? '-'}${w.setup.cmdLine ? `, CmdLine ${w.setup.cmdLine}` : ''}`
          : null,
      ],
    ]),
  );
  for (const note of w.warnings) box.append(h('p', { class: 'muted' }, `note: ${note}`));
  return box;
}

function renderListing(res: Inspection): HTMLElement {
  const box = h('div', {}, h('h2', {}, 'BCD store (bcdedit /enum all)'));
  if (res.listing) {
    box.append(h('p', { class: 'muted' }, res.listing.where));
    for (const w of res.listing.warnings) box.append(h('p', { class: 'muted' }, `warning: ${w}`));
    box.append(h('pre', { 'data-testid': 'bcd-listing' }, res.listing.text));
  } else if (res.listingError) {
    box.append(
      h(
        'p',
        { 'data-testid': 'bcd-listing-error', 'data-code': res.listingError.code },
        res.listingError.message,
      ),
    );
  }
  return box;
}

function download(name: string, data: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([data.slice()], { type: 'application/octet-stream' }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  // Revoked after the click has been handled: the download has its own reference by then.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function renderRepair(o: Outcome, all: readonly Chosen[]): HTMLElement | null {
  const res = o.result;
  if (!res?.listing) return null;
  const box = h('div', { 'data-testid': 'repair' }, h('h2', {}, 'Repair'));
  const out = h('div', { 'data-testid': 'repair-result' });
  const files = () => new FileListAccess(all.map((c) => ({ path: c.path, blob: c.file })));
  const storeButton = h(
    'button',
    { class: 'button', type: 'button', 'data-testid': 'download-generalized' },
    'Download generalized store',
  );
  // A differencing child needs a VHD or VHDX template (a raw disk has no child format).
  const format = res.image?.format;
  const childButton =
    format === 'vhd' || format === 'vhdx'
      ? h(
          'button',
          { class: 'button', type: 'button', 'data-testid': 'download-child' },
          `Download repaired child (.${format})`,
        )
      : null;
  box.append(
    h(
      'p',
      { class: 'muted' },
      'The store as sysprep /generalize leaves it (bootprobe repair --generalize): devices become locate=, so it ' +
        'boots from whichever disk it is attached as. The template itself is never written: put the downloaded ' +
        `store in its place (${res.kind === 'image' ? (res.report.store?.path ?? '\\Boot\\BCD') : 'the store you chose'})` +
        (childButton
          ? ', or save the repaired child beside the template and deploy the child (bootprobe repair --generalize --child).'
          : '.'),
    ),
    h('div', { class: 'buttons' }, storeButton, childButton ?? ''),
    out,
  );
  const changes = (p: RepairPlan): (string | Node)[] => [
    p.changes.length
      ? table(
          ['object', 'element', 'before', 'after'],
          p.changes.map((c) => [c.object, c.element, c.before ?? '(absent)', c.after ?? '(removed)']),
        )
      : h('p', { class: 'muted' }, 'the store is unchanged (already generalized)'),
    ...p.notes.map((n) => h('p', { class: 'muted' }, `note: ${n}`)),
    p.listing.diff ? h('pre', { 'data-testid': 'repair-diff' }, p.listing.diff) : '',
  ];
  const failed = (e: unknown) => {
    out.textContent = e instanceof BootprobeError ? `cannot repair: ${e.line}` : `failed: ${String(e)}`;
  };
  storeButton.addEventListener('click', async () => {
    out.textContent = 'generalizing…';
    try {
      const repaired = await generalizeStore(o.chosen.file, {
        name: o.chosen.path,
        files: files(),
        customization: customization(),
      });
      const p = repaired.plan;
      out.textContent = '';
      out.append(
        h(
          'p',
          {},
          `${repaired.where}: ${p.changes.length} change${p.changes.length === 1 ? '' : 's'}; the new store ${repaired.after.verdict === 'pass' ? 'passes' : 'fails'} its store checks. Saved as ${repaired.fileName}.`,
        ),
        ...changes(p),
      );
      download(repaired.fileName, p.bytes);
    } catch (e) {
      failed(e);
    }
  });
  childButton?.addEventListener('click', async () => {
    out.textContent = 'writing the child…';
    try {
      const child = await generalizeIntoChild(o.chosen.file, {
        name: o.chosen.path,
        files: files(),
        customization: customization(),
      });
      out.textContent = '';
      out.append(
        h(
          'p',
          { 'data-testid': 'child-result', 'data-verdict': child.after.verdict },
          `${child.fileName} (${bytes(child.bytes.length)}): ${child.where} rewritten; through its parent it pre-flights ${child.after.verdict.toUpperCase()}. Save it beside ${o.chosen.file.name}.`,
        ),
        ...changes(child.plan),
        ...child.written.map((w) => h('p', { class: 'muted' }, w)),
      );
      download(child.fileName, child.bytes);
    } catch (e) {
      failed(e);
    }
  });
  return box;
}

function renderStats(o: Outcome): HTMLElement {
  const s = o.stats;
  return h(
    'p',
    {
      class: 'stats',
      'data-testid': 'stats',
      'data-bytes-read': `${s.bytesRead}`,
      'data-reads': `${s.reads}`,
      'data-ms': `${Math.round(o.ms)}`,
    },
    `bytesRead=${s.bytesRead} reads=${s.reads} — ${bytes(s.bytesRead)} read of a ${bytes(o.chosen.file.size)} file in ${Math.round(o.ms)} ms`,
  );
}

function renderOutcome(o: Outcome, all: readonly Chosen[]): void {
  const box = byId('result');
  box.hidden = false;
  box.textContent = '';
  if (!o.result) {
    const e = o.error!;
    box.append(
      h(
        'div',
        { class: 'banner fail' },
        h('span', { class: 'verdict', 'data-testid': 'verdict', 'data-code': e.code }, 'error'),
        h('span', { class: 'name' }, o.display),
        h('span', { class: 'why', 'data-testid': 'error' }, `unreadable: ${e.line}`),
      ),
      renderStats(o),
    );
    return;
  }
  const res = o.result;
  const r = res.report;
  box.append(
    h(
      'div',
      { class: `banner ${r.verdict}` },
      h('span', { class: 'verdict', 'data-testid': 'verdict' }, r.verdict),
      h('span', { class: 'name', 'data-testid': 'result-name' }, o.display),
      h('span', { class: 'why' }, summaryLine(r)),
    ),
    renderStats(o),
    h('h2', {}, 'Checks'),
    renderChecks(r),
    renderRepair(o, all) ?? '',
    renderDisk(res),
    h('div', { class: 'columns' }, renderWalk(r), renderWindows(r)),
    renderListing(res),
  );
}

function renderFileTabs(outcomes: Outcome[], all: readonly Chosen[], selected: Outcome): void {
  const box = byId('files');
  box.textContent = '';
  box.hidden = outcomes.length < 2;
  const list = h('ul', {});
  for (const o of outcomes) {
    const v = o.result ? o.result.report.verdict : 'error';
    const b = h(
      'button',
      { type: 'button', 'aria-pressed': o === selected ? 'true' : 'false', 'data-testid': 'file-tab' },
      `${o.display} — ${v}`,
    );
    b.addEventListener('click', () => {
      renderFileTabs(outcomes, all, o);
      renderOutcome(o, all);
    });
    list.append(h('li', {}, b));
  }
  box.append(h('h2', {}, 'Files chosen'), list);
}

async function checkFiles(all: Chosen[]): Promise<void> {
  byId('scan').hidden = true;
  const inputs = all.filter((c) => !LOG_NAME.test(c.path));
  if (inputs.length === 0) {
    setStatus('choose a disk image or a BCD file (hive logs alone cannot be checked)', true);
    return;
  }
  const outcomes: Outcome[] = [];
  for (const [i, c] of inputs.entries()) {
    setStatus(`reading ${c.path} (${i + 1} of ${inputs.length})…`);
    outcomes.push(await run(c, all, c.path));
  }
  // Of several files (a child and its parents), the differencing disk is the one to look at first.
  const selected = outcomes.find((o) => o.result?.image?.variant === 'differencing') ?? outcomes[0]!;
  setStatus(outcomes.length > 1 ? `${outcomes.length} files checked` : '');
  renderFileTabs(outcomes, all, selected);
  renderOutcome(selected, all);
}

// ---- a folder of templates ----------------------------------------------------------------------------------

async function scanFolder(all: Chosen[]): Promise<void> {
  byId('files').hidden = true;
  byId('result').hidden = true;
  const box = byId('scan');
  box.hidden = false;
  box.textContent = '';
  // `bootprobe scan DIR` prints paths relative to DIR: drop the chosen folder's own name when all share it.
  const first = all[0]!.path.split('/')[0]!;
  const common = all.every((c) => c.path.includes('/') && c.path.split('/')[0] === first) ? `${first}/` : '';
  const order = scanOrder(all.map((c) => c.path.slice(common.length)));
  const byPath = new Map(all.map((c) => [c.path.slice(common.length), c]));
  const tbody = h('tbody', {});
  const summary = h('p', { 'data-testid': 'scan-summary' });
  box.append(
    h('h2', {}, `Scan of ${common ? common.slice(0, -1) : 'the chosen files'}`),
    h(
      'table',
      { 'data-testid': 'scan-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['IMAGE', 'VERDICT', 'BOOT', 'WINDOWS', 'GENERALIZED', 'CAUSE'].map((c) => h('th', {}, c)),
        ),
      ),
      tbody,
    ),
    summary,
  );
  const rows: ScanRow[] = [];
  let bytesRead = 0;
  for (const [i, rel] of order.entries()) {
    setStatus(`scanning ${rel} (${i + 1} of ${order.length})…`);
    const o = await run(byPath.get(rel)!, all, rel);
    bytesRead += o.stats.bytesRead;
    const outcome: ScanOutcome = o.result
      ? { image: rel, report: o.result.report }
      : { image: rel, error: o.error! };
    const row = scanRow(outcome);
    rows.push(row);
    const tr = h(
      'tr',
      { class: `row-${row.verdict.toLowerCase()}`, 'data-testid': 'scan-row', 'data-verdict': row.verdict },
      ...[row.image, row.verdict, row.boot, row.windows, row.generalized, row.cause].map((c) =>
        h('td', {}, c),
      ),
    );
    tr.addEventListener('click', () => renderOutcome(o, all));
    tbody.append(tr);
  }
  summary.textContent = `${scanSummary(rows)} — ${bytes(bytesRead)} read`;
  setStatus(
    order.length
      ? 'click a row for its checks'
      : 'no disk images (.vhd, .vhdx, .avhdx, .raw, .img) in that folder',
  );
}

// ---- choosing and dropping ----------------------------------------------------------------------------------

async function handle(all: Chosen[], folder: boolean): Promise<void> {
  if (all.length === 0) return;
  try {
    if (folder) await scanFolder(all);
    else await checkFiles(all);
  } catch (e) {
    setStatus(`failed: ${e instanceof Error ? e.message : String(e)}`, true);
  }
}

/** Files under a dropped folder, with their paths inside it (FileSystemEntry API, bounded). */
async function walkEntry(entry: FileSystemEntry, depth: number, out: Chosen[]): Promise<void> {
  if (out.length >= MAX_DROP_FILES) return;
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    out.push({ path: entry.fullPath.replace(/^\/+/, ''), file });
    return;
  }
  if (!entry.isDirectory || depth > MAX_DROP_DEPTH) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns a batch at a time; an empty batch ends the folder.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0 || out.length >= MAX_DROP_FILES) break;
    for (const e of batch) await walkEntry(e, depth + 1, out);
  }
}

function setup(): void {
  const fileInput = byId<HTMLInputElement>('file-input');
  const folderInput = byId<HTMLInputElement>('folder-input');
  fileInput.addEventListener('change', () => {
    const all = [...(fileInput.files ?? [])].map((file) => ({ path: file.name, file }));
    fileInput.value = '';
    void handle(all, false);
  });
  folderInput.addEventListener('change', () => {
    const all = [...(folderInput.files ?? [])].map((file) => ({
      path: file.webkitRelativePath || file.name,
      file,
    }));
    folderInput.value = '';
    void handle(all, true);
  });
  const zone = byId('pick');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  document.addEventListener('dragleave', () => zone.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const dt = e.dataTransfer;
    if (!dt) return;
    const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.() ?? null).filter((x) => x !== null);
    if (entries.some((x) => x.isDirectory)) {
      void (async () => {
        const all: Chosen[] = [];
        for (const x of entries) await walkEntry(x, 0, all);
        await handle(all, true);
      })();
    } else {
      void handle(
        [...dt.files].map((file) => ({ path: file.name, file })),
        false,
      );
    }
  });
  document.documentElement.dataset.ready = 'true';
  setStatus(`ready (bootprobe ${__VERSION__})`);
}

setup();
