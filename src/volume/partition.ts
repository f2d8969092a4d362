// What the partition-table readers (mbr.ts, ebr.ts, gpt.ts) produce: the contract of issue 3's `info` JSON.
import type { Finding } from '../errors.js';

export type PartitionScheme = 'mbr' | 'gpt' | 'none';

export interface Partition {
  /** 1.. in table order; MBR logical partitions from 5, as Linux numbers them. */
  index: number;
  /** Byte offset on the disk. */
  start: number;
  /** Bytes. */
  size: number;
  /** MBR: type byte as '0x07'; GPT: type GUID lower-case. */
  type: string;
  /** 'NTFS/exFAT/HPFS', 'EFI system partition', 'Microsoft basic data', ... */
  typeName: string;
  /** MBR boot indicator 0x80; GPT: false (legacy BIOS bootable attribute is reported in `attributes`). */
  active: boolean;
  /** GPT unique partition GUID; null on MBR. */
  guid: string | null;
  /** GPT partition name; null on MBR. */
  name: string | null;
  /** MBR: 'primary' | 'logical'; GPT: 'gpt'; 'whole' when the disk has no table. */
  kind: 'primary' | 'logical' | 'gpt' | 'whole';
  /** GPT attribute bits as 0x-hex; null on MBR. */
  attributes: string | null;
  /** Byte offset of the table entry that describes it (for errors and repairs). */
  entryOffset: number | null;
}

export interface PartitionTable {
  scheme: PartitionScheme;
  /** Sector size the table was read with (512 or 4096). */
  sectorSize: number;
  /** MBR disk signature as '0x5b8a2f18'; null on GPT or when absent. */
  diskSignature: string | null;
  /** GPT disk GUID lower-case; null on MBR. */
  diskGuid: string | null;
  partitions: Partition[];
  warnings: Finding[];
}
