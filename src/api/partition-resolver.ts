// Names a BCD partition device after the image partition it points at, as `bootprobe bcd` prints it
// (`partition=image partition 2`), in the core so the library and the web page render the same listing as the CLI.
// The matching itself is pre-flight's (windows/resolve-device.ts findPartition, bcd.md §7.3).
import type { BcdPartitionDescriptor } from '../bcd/device.js';
import type { PartitionTable } from '../volume/partition.js';
import { findPartition } from '../windows/resolve-device.js';

/** A resolver for renderBcd: the image partition a device names, or null when it points at another disk. */
export function partitionResolver(table: PartitionTable): (d: BcdPartitionDescriptor) => string | null {
  return (d) => {
    const { partition } = findPartition(d, table);
    return partition ? `image partition ${partition.index}` : null;
  };
}
