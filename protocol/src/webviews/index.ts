export * from './common.js';
export * from './compare.js';
export * from './lineage.js';
export * from './drift.js';
export * from './html.js';
export * from './ab.js';
export * from './explain.js';
