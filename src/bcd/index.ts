// bcd/: the BCD object model, element names, device codec and bcdedit-style renderer (docs/bcd.md).
export * from './aliases.js';
export * from './device.js';
export * from './diff.js';
export * from './edit.js';
export * from './element.js';
export * from './element-types.js';
export * from './generalize.js';
export * from './json.js';
export * from './object-types.js';
export * from './render.js';
export * from './retarget.js';
export * from './store.js';
