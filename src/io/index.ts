// io/: the only layer that knows where bytes come from. Node-only modules (file-device, node-file-access) are
// deliberately not re-exported here so the core stays importable in a browser.
export * from './block-device.js';
export * from './byte-view.js';
export * from './cache.js';
export * from './checksum.js';
export * from './file-access.js';
export * from './memory-device.js';
export * from './random.js';
export * from './slice-device.js';
export * from './staging-device.js';
export * from './undo-record.js';
export * from './units.js';
