// What `sysprep /generalize` does to a BCD store (docs/bcd.md §9; the real before/after is known-answers.md §2),
// as a pure transform of an EditableHive. sysprep's spbcd.dll log (bcd.md §9 [C]) names what it touches: the
// *application device* of {bootmgr}, {memdiag}, the running OS loader and its resume object, the loader's *OS device*
// and the resume object's *hiberfile device*. known-answers.md §2 shows the result on one real store, row by row:
//   {bootmgr}  device partition= → locate (element `path`; prints `locate=unknown` when there is no path)
//              timeout 3 → 30
//   loader     device → locate (`path`), osdevice → locate (`systemroot`), recoveryenabled (absent) → No,
//              detecthal Yes → removed
//   resume     device → locate (`path`), filedevice (absent) → locate (`filepath`), recoveryenabled → No,
//              debugoptionenabled (absent) → No
//   {memdiag}  device → locate (`path`)
// Locate devices are the form sysprep writes (bcd.md §7.5): LocateType 0, the element naming the probe path, no
// parent, empty path — the bytes of corpus windeploy-uefi-locate.BCD's loader (device.ts locateDevice).
// Choices the sources do not settle, each also reported as a note:
// - Offline there is no "running OS loader"; the {default} loader stands in for it (SCVMM follows {default}, DESIGN
//   "The problem it solves"); `loaders` names others.
// - Only partition= devices become locate: `boot` (DeviceType 5) is already portable and is what Vista's sysprep
//   wrote (bcd.md §7.4 [?]); a missing {bootmgr} device is left missing (media stores have none, bcd.md §9).
// - A loader that boots from a ramdisk (setup, WinPE, WinRE) is not "the running OS": the known-answers store's
//   setup loader is unchanged by sysprep (known-answers.md §2 lists no row for it, its detecthal stays). When every
//   chosen loader is such an entry (install media, the recovery store), the {bootmgr} timeout is left as well.
// - UEFI stores get the same treatment (sysprep's log names {bootmgr}'s application device without a firmware
//   distinction); {bootmgr} then prints locate=\EFI\Microsoft\Boot\bootmgfw.efi [I].
// - vhd= devices (native VHD boot, §7.7) and the resume object's custom:21000026 (a partition= device whose locate
//   form is not known) are left; recoverysequence and the WinRE objects are left (bcd.md §9 [?]).
// - timeout is set to 30 whether it was present or not, and recoveryenabled / debugoptionenabled to No whatever
//   they were: known-answers.md §2 shows only the absent → No and 3 → 30 cases [I].
import type { EditableHive } from '../hive/edit.js';
import { BOOTMGR_GUID } from './aliases.js';
import { BCD_BLOCK_TYPE, locateDevice } from './device.js';
import { type BcdEditResult, bcdChanges, bcdValue, deleteBcdElement, setBcdElement } from './edit.js';
import { BCD_OBJECT_TYPE } from './object-types.js';
import type { RenderBcdOptions } from './render.js';
import { type BcdElement, type BcdObject, type BcdStore, readBcdStore } from './store.js';

/** Element types sysprep touches (bcd.md §6.1–§6.5). */
export const SYSPREP_ELEMENT = {
  DEVICE: 0x11000001,
  PATH: 0x12000002,
  DESCRIPTION: 0x12000004,
  RECOVERY_SEQUENCE: 0x14000008,
  RECOVERY_ENABLED: 0x16000009,
  /** osdevice in a loader, filedevice in a resume object. */
  OS_DEVICE: 0x21000001,
  /** systemroot in a loader, filepath in a resume object. */
  SYSTEM_ROOT: 0x22000002,
  /** resumeobject in a loader. */
  RESUME_OBJECT: 0x23000003,
  TIMEOUT: 0x25000004,
  DEBUG_OPTION_ENABLED: 0x26000006,
  DETECT_HAL: 0x26000010,
  RESUME_CUSTOM_DEVICE: 0x21000026,
} as const;

/** {bootmgr} timeout after sysprep (known-answers.md §2). */
export const GENERALIZED_TIMEOUT = 30n;
export const MEMDIAG_GUID = '{b2721d73-1db4-4c62-bf78-c548a880142d}';

export interface GeneralizeOptions {
  /** OS loaders to generalize (GUIDs or aliases). Default: the {default} loader. */
  readonly loaders?: readonly string[];
  /** FILETIME stamped on changed keys; default: keep the hive's clock. */
  readonly clock?: bigint | null;
  /** How changes print partitions (e.g. with names from the image). */
  readonly render?: RenderBcdOptions;
}

/** A plain partition= device (not the VHD form, bcd.md §7.3/§7.7): the machine-specific kind sysprep replaces. */
export function isPartitionDevice(e: BcdElement | null): boolean {
  if (!e || e.value.format !== 'device') return false;
  const d = e.value.device.descriptor;
  return d.kind === 'partition' && d.vhdFile === null && d.blockType === BCD_BLOCK_TYPE.HARD_DISK;
}

const isVhdDevice = (e: BcdElement | null): boolean =>
  e?.value.format === 'device' &&
  ((e.value.device.descriptor.kind === 'partition' && e.value.device.descriptor.vhdFile !== null) ||
    (e.value.device.descriptor.kind === 'locate' && e.value.device.descriptor.parent !== null));

const label = (o: BcdObject): string => o.alias ?? o.id;

/** Generalizes a copy of `source` as sysprep /generalize does (file comment); `source` is left untouched. */
export function generalizeBcd(source: EditableHive, options: GeneralizeOptions = {}): BcdEditResult {
  const hive = source.clone();
  if (options.clock !== undefined) hive.clock = options.clock;
  const root = hive.root;
  const before = readBcdStore(root);
  const notes: string[] = [];

  /** device element → locate on `probe` when it is partition=; notes what it leaves. */
  const locate = (o: BcdObject, type: number, probe: number, absentToo = false): void => {
    const e = o.element(type);
    if (e === null && !absentToo) return;
    if (e !== null && !isPartitionDevice(e)) {
      if (isVhdDevice(e))
        notes.push(
          `${label(o)} ${e.name} is a vhd= device; left as it is (its generalized form is not known)`,
        );
      return;
    }
    setBcdElement(root, o.id, type, bcdValue.device(locateDevice(probe)));
    if (o.element(probe) === null && o.id !== BOOTMGR_GUID) {
      notes.push(`${label(o)} has no ${hexName(probe)} element: its new locate device prints locate=unknown`);
    }
  };
  const setBoolean = (o: BcdObject, type: number, v: boolean): void => {
    const e = o.element(type);
    // Already so (in any stored width): no change, the element keeps its bytes.
    if (e?.value.format === 'boolean' && e.value.value === v) return;
    setBcdElement(root, o.id, type, bcdValue.boolean(v));
  };

  // The loaders sysprep would treat as "the running OS": installed ones only. A ramdisk loader is a setup, WinPE or
  // WinRE entry (known-answers.md §2 leaves the setup entry untouched), and a store whose loaders are all such is
  // install media or a recovery store, where sysprep never runs: its timeout is left too.
  const loaders: BcdObject[] = [];
  for (const o of selectLoaders(before, options.loaders, notes)) {
    const dev = o.element(SYSPREP_ELEMENT.DEVICE);
    if (dev?.value.format === 'device' && dev.value.device.descriptor.kind === 'ramdisk') {
      notes.push(
        `${label(o)} boots from a ramdisk (a setup, WinPE or WinRE entry); sysprep leaves such entries as they are`,
      );
    } else {
      loaders.push(o);
    }
  }

  const bootmgr = before.object(BOOTMGR_GUID);
  if (bootmgr) {
    if (bootmgr.element(SYSPREP_ELEMENT.DEVICE) === null)
      notes.push('{bootmgr} has no device element (install media have none); left so');
    locate(bootmgr, SYSPREP_ELEMENT.DEVICE, SYSPREP_ELEMENT.PATH);
    const t = bootmgr.element(SYSPREP_ELEMENT.TIMEOUT);
    if (loaders.length === 0) {
      notes.push('no installed Windows loader to generalize: {bootmgr} timeout left as it is');
    } else if (!(t?.value.format === 'integer' && t.value.value === GENERALIZED_TIMEOUT)) {
      setBcdElement(root, bootmgr.id, SYSPREP_ELEMENT.TIMEOUT, bcdValue.integer(GENERALIZED_TIMEOUT));
    }
  } else {
    notes.push('the store has no {bootmgr} object');
  }

  for (const o of loaders) {
    locate(o, SYSPREP_ELEMENT.DEVICE, SYSPREP_ELEMENT.PATH);
    locate(o, SYSPREP_ELEMENT.OS_DEVICE, SYSPREP_ELEMENT.SYSTEM_ROOT);
    setBoolean(o, SYSPREP_ELEMENT.RECOVERY_ENABLED, false);
    deleteBcdElement(root, o.id, SYSPREP_ELEMENT.DETECT_HAL);
    if (o.element(SYSPREP_ELEMENT.RECOVERY_SEQUENCE)) {
      notes.push(
        `${label(o)} recoverysequence left as it is (what sysprep does to WinRE is not known, bcd.md §9)`,
      );
    }
    const r = o.element(SYSPREP_ELEMENT.RESUME_OBJECT);
    if (r?.value.format !== 'object') continue;
    const resume = before.object(r.value.id);
    if (!resume || resume.type !== BCD_OBJECT_TYPE.RESUME) {
      notes.push(
        `${label(o)} resumeobject ${r.value.id} is not a resume object in this store; nothing to generalize there`,
      );
      continue;
    }
    locate(resume, SYSPREP_ELEMENT.DEVICE, SYSPREP_ELEMENT.PATH);
    // filedevice: set when absent too (known-answers.md §2: absent → locate=\hiberfil.sys).
    locate(resume, SYSPREP_ELEMENT.OS_DEVICE, SYSPREP_ELEMENT.SYSTEM_ROOT, true);
    setBoolean(resume, SYSPREP_ELEMENT.RECOVERY_ENABLED, false);
    setBoolean(resume, SYSPREP_ELEMENT.DEBUG_OPTION_ENABLED, false);
    if (isPartitionDevice(resume.element(SYSPREP_ELEMENT.RESUME_CUSTOM_DEVICE))) {
      notes.push(
        `${label(resume)} custom:21000026 is partition= and is left (its generalized form is not known)`,
      );
    }
  }

  const memdiag = before.object(MEMDIAG_GUID);
  if (memdiag) locate(memdiag, SYSPREP_ELEMENT.DEVICE, SYSPREP_ELEMENT.PATH);

  const after = readBcdStore(root);
  // Other loaders that still name a partition (a multi-boot store): reported, since sysprep only touches its own.
  for (const o of after.objects) {
    if (o.type !== BCD_OBJECT_TYPE.OSLOADER) continue;
    if ([SYSPREP_ELEMENT.DEVICE, SYSPREP_ELEMENT.OS_DEVICE].some((t) => isPartitionDevice(o.element(t)))) {
      const d = o.element(SYSPREP_ELEMENT.DESCRIPTION);
      const name = d?.value.format === 'string' ? `"${d.value.text}"` : 'no description';
      notes.push(
        `${label(o)} (${name}) still uses partition= devices: it is not the loader being generalized`,
      );
    }
  }
  return { hive, store: after, changes: bcdChanges(before, after, options.render), notes };
}

function hexName(type: number): string {
  return type === SYSPREP_ELEMENT.PATH
    ? 'path'
    : type === SYSPREP_ELEMENT.SYSTEM_ROOT
      ? 'systemroot/filepath'
      : type.toString(16);
}

/** The OS loader objects to generalize: the named ones, else {default}. */
function selectLoaders(store: BcdStore, wanted: readonly string[] | undefined, notes: string[]): BcdObject[] {
  const ids = wanted ?? (store.defaultId ? [store.defaultId] : []);
  if (ids.length === 0) notes.push('{bootmgr} names no {default} loader; no loader was generalized');
  const out: BcdObject[] = [];
  for (const id of ids) {
    const o = store.object(id);
    if (!o) {
      notes.push(`loader ${id} is not in the store`);
      continue;
    }
    if (o.type !== BCD_OBJECT_TYPE.OSLOADER) {
      notes.push(`${label(o)} is not a Windows Boot Loader (type ${o.type.toString(16)}); left as it is`);
      continue;
    }
    out.push(o);
  }
  return out;
}
