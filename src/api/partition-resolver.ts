// Names a BCD partition device after the image partition it points at, as `bootprobe bcd` prints it
// (`partition=image partition 2`). A copy of cli/commands/bcd.ts partitionResolver, in the core so the library and the
// web page render the same listing without the CLI (issue 10); the CLI can import it from here.
import type { BcdPartitionDescriptor } from '../bcd/device.js';
import type { PartitionTable } from '../volume/partition.js';

const bare = (g: string) => g.replace(/^\{|\}$/g, '').toLowerCase();

/**
 * A resolver for renderBcd: MBR devices match on disk signature and partition offset, GPT devices on disk and
 * partition GUIDs (bcd.md §7.3); null when the device points at another disk.
 */
export function partitionResolver(table: PartitionTable): (d: BcdPartitionDescriptor) => string | null {
  return (d) => {
    let hit = null;
    if (
      d.diskSignature !== null &&
      d.partitionOffset !== null &&
      table.scheme === 'mbr' &&
      table.diskSignature !== null
    ) {
      if (d.diskSignature === Number.parseInt(table.diskSignature, 16)) {
        hit = table.partitions.find((p) => BigInt(p.start) === d.partitionOffset) ?? null;
      }
    } else if (
      d.diskGuid !== null &&
      d.partitionGuid !== null &&
      table.scheme === 'gpt' &&
      table.diskGuid !== null
    ) {
      if (bare(d.diskGuid) === bare(table.diskGuid)) {
        const want = bare(d.partitionGuid);
        hit = table.partitions.find((p) => p.guid !== null && bare(p.guid) === want) ?? null;
      }
    }
    return hit ? `image partition ${hit.index}` : null;
  };
}
