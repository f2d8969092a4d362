// What to do about a damaged hive cell: the hint of the errors the hive readers raise (DESIGN.md "Errors"). Windows
// keeps copies of its hives (RegBack, and the .LOG files replayed first); bootprobe reads, it does not rebuild.

/** A cell, list or value of a hive that is not what its parent says it is. */
export const HIVE_DAMAGED = 'the hive is damaged; restore the hive file from a backup';
