import type { ServerServices } from '../handlers/startServer.js';
import { modelCardService } from './modelCard/index.js';
import { pipelineService } from './pipeline/index.js';
import { workspaceConfigService } from './workspaceConfig/index.js';

/** The language services the server dispatches to (pipelines, model cards, `.cairn/config.yaml`). */
export function languageServices(): ServerServices {
  return { pipeline: pipelineService, modelCard: modelCardService, workspaceConfig: workspaceConfigService };
}
