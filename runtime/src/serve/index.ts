export {
  DEFAULT_BATCH,
  ModelServer,
  ServeLoadError,
  challengerShare,
  generateToken,
  loadServedModel,
  type ServeOptions,
} from './server.js';
export { RequestError, requestTable, MAX_ROWS } from './request.js';
export { ServeMetrics } from './metrics.js';
export { inputFields } from './inputs.js';
export { isRegistryRef, restoreRegistered, restoreVersion, type RegisteredModel } from './registered.js';
export { AliasFollower } from './follow.js';
