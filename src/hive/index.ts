// hive/: regf reader (docs/regf.md), dirty detection and log replay, .reg export.
export * from './base-block.js';
export * from './big-data.js';
export * from './bin.js';
export * from './cell.js';
export * from './edit.js';
export * from './hive.js';
export * from './key.js';
export * from './log-new.js';
export * from './log-old.js';
export * from './name.js';
export * from './nk.js';
export * from './recover.js';
export * from './reg-export.js';
export * from './sk.js';
export * from './subkey-list.js';
export * from './vk.js';
export * from './writer.js';
