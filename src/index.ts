/**
 * bootprobe as a library (issue 10): open VHD/VHDX/raw disk images offline, walk their partitions and file
 * systems, read hives and BCD stores, pre-flight a VM template as SCVMM would, and plan its repair — everything the
 * CLI does, without spawning it.
 *
 * This module is the core entry and imports nothing from Node, so it runs in a browser bundle too. Under Node the
 * package's `bootprobe` import resolves to `node.ts`, which adds paths (`openImage('C:\\VMs\\t.vhdx')`); in a
 * browser bundle to `browser.ts`, which adds File handling. Both re-export everything here.
 *
 * ```ts
 * import { openImage, preflight } from 'bootprobe';
 * const image = await openImage('template.vhdx');   // a path (Node), a File/Blob, or any BlockDevice
 * const report = await preflight(image);            // what `bootprobe preflight --json` prints
 * await image.close();
 * ```
 * @packageDocumentation
 */

export { FileListAccess, type NamedBlob, normalizeRelative } from './api/file-list-access.js';
// The library's own: sources, one-call inspection, the scan table, the store repair download.
export { type Inspection, type InspectOptions, inspect, type StoreListing } from './api/inspect.js';
export { partitionResolver } from './api/partition-resolver.js';
export {
  type ChildOptions,
  generalizeIntoChild,
  generalizeStore,
  type RepairedChild,
  type RepairedStore,
} from './api/repair.js';
export {
  IMAGE_NAME,
  type ScanOutcome,
  type ScanRow,
  scanCause,
  scanOrder,
  scanRow,
  scanSummary,
} from './api/scan.js';
export {
  type OpenSourceOptions,
  openImage,
  openSource,
  refuseMisnamed,
  type Source,
  type SourceOptions,
} from './api/source.js';
// bcd/: object model, element names and values, device codec, bcdedit renderer, JSON, edits.
export * from './bcd/index.js';
// Errors: one class, stable codes.
export {
  BootprobeError,
  type BootprobeErrorOptions,
  ERROR_CODES,
  type ErrorCode,
  type ErrorKind,
  type Finding,
  isBootprobeError,
} from './errors.js';
// fs/: NTFS and FAT read (and planned writes), by path.
export { type OpenedVolume, openVolume } from './fs/disk-volumes.js';
export type {
  FileReader,
  FileSystem,
  FsEntry,
  FsStreamInfo,
  FsWritePlan,
  FsWriteResult,
} from './fs/file-system.js';
export { detectFileSystem, openFileSystem } from './fs/open-fs.js';
// hive/: regf reader, log replay, .reg export, writer; the lazy reader for large hives (SYSTEM, SOFTWARE).
export * from './hive/index.js';
export {
  type HiveSource,
  type LazyHive,
  type LazyHiveResult,
  type LazyKey,
  openLazyHive,
} from './hive/lazy-hive.js';
// image/: containers.
export { createChild, type DynamicFormat, type ParentPaths } from './image/create-image.js';
export type {
  DiskImage,
  Extent,
  ImageFormat,
  ImageInfo,
  ImageVariant,
  OpenImageOptions,
  ParentInfo,
} from './image/disk-image.js';
export { openImage as openImageDevice, type SniffedFormat, sniffFormat } from './image/open-image.js';
// io/: the BlockDevice every layer reads through, and its backends that need no Node.
export { BlobDevice, type BlobDeviceOptions, type BlobLike } from './io/blob-device.js';
export {
  type BlockDevice,
  checkRange,
  type IoStats,
  newIoStats,
  type WritableDevice,
} from './io/block-device.js';
export { ByteView } from './io/byte-view.js';
export { CachedDevice, type CacheOptions } from './io/cache.js';
export { anyBasename, type FileAccess, isWindowsAbsolute } from './io/file-access.js';
export { MemoryDevice } from './io/memory-device.js';
export { SliceDevice } from './io/slice-device.js';
export { StagingDevice } from './io/staging-device.js';
// pe/: PE/COFF headers, version resource, the loader's version gate.
export { canRunOn, decodePe, type PeInfo, type RunVerdict, WINDOWS_VERSIONS } from './pe/pe-file.js';
export { readPe } from './pe/pe-read.js';
// volume/: MBR, EBR chain, GPT.
export type { Partition, PartitionScheme, PartitionTable } from './volume/partition.js';
export { partitionDevice, readPartitionTable } from './volume/partition-table.js';
export { type DiskVolumes, describeVolumes, type VolumeSummary } from './volume/volumes.js';
// windows/: the boot walk, Windows inspection, pre-flight, repair plans.
export {
  type BootCandidate,
  type DiskWalk,
  type Firmware,
  type VolumeProbe,
  walkDisk,
} from './windows/boot-volume.js';
export { findBcdStores, type StoreCandidate } from './windows/find-bcd.js';
export {
  type CheckStatus,
  type PreflightCheck,
  type PreflightOptions,
  type PreflightReport,
  preflight,
  preflightStore,
  type StoreFile,
} from './windows/preflight.js';
export {
  describeTarget,
  locateStore,
  planStoreRepair,
  type RepairMode,
  type RepairPlan,
  readStoreForRepair,
  type StoreInImage,
} from './windows/repair-plan.js';
export { inspectWindows, type WindowsInfo } from './windows/windows-info.js';
