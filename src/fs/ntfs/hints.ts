// What to do about a damaged NTFS structure: the hint of every error the reader and the writer raise for one
// (DESIGN.md "Errors": each error says what to do). chkdsk is the repair Windows has; bootprobe never repairs a
// file system itself.

/** An MFT record: its header, fixups, attributes or runlist. */
export const RECORD_DAMAGED = 'the MFT record is damaged; run chkdsk on the volume';
/** $MFT itself: its runs, size or a file reference past it. */
export const MFT_DAMAGED = 'the MFT is damaged; run chkdsk on the volume';
/** A directory's $INDEX_ROOT, $INDEX_ALLOCATION or an index record. */
export const INDEX_DAMAGED = 'the directory index is damaged; run chkdsk on the volume';
