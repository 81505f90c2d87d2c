export * from './model.js';
export * from './messages.js';
export * from './registry.js';
export * from './deploy.js';
export * from './drift.js';
export * from './abBusiness.js';
export * from './page.js';
export * from './explain.js';
