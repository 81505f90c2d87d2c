import { access } from 'node:fs/promises';
import { registerBuiltins } from './index.js';
import { StepError, type BuiltinContext } from './types.js';
import { builtinSpec, parseOptions } from './support.js';
import { loadPredictor } from '../ml/models/index.js';

/**
 * model.register: checks that the model loads (model.json or ONNX) and that its card exists, then hands the request
 * to the model registry. The registry (SQLite tables, versions, aliases) belongs to the deployment module, which
 * installs itself with `setModelRegistry`; without it the step still checks the model and records the request as
 * run tags, so a pipeline runs end to end in any build.
 */
export interface RegisterRequest {
  name: string;
  model: string;
  card?: string;
  alias?: string;
  /** The pipeline step that asked (for lineage). */
  step: string;
}

export interface ModelRegistry {
  register(request: RegisterRequest, ctx: BuiltinContext): Promise<{ version: number }>;
}

let registry: ModelRegistry | undefined;

export function setModelRegistry(r: ModelRegistry | undefined): void {
  registry = r;
}

async function register(ctx: BuiltinContext): Promise<void> {
  const o = parseOptions(builtinSpec('model.register'), ctx);
  const request: RegisterRequest = { name: o.name, model: o.model, step: ctx.step };
  if (typeof o.card === 'string') request.card = o.card;
  if (typeof o.alias === 'string') request.alias = o.alias;
  try {
    await loadPredictor(request.model);
  } catch (e) {
    throw new StepError(`model.register: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (request.card) {
    try {
      await access(request.card);
    } catch {
      throw new StepError(
        `model.register: the model card ${request.card} does not exist; write it (see the sample's MODEL_CARD.md)`,
      );
    }
  }
  if (ctx.signal.aborted) return;
  if (registry) {
    const { version } = await registry.register(request, ctx);
    ctx.log(`registered ${request.name} version ${version}${request.alias ? ` as ${request.alias}` : ''}`);
    ctx.metric('version', version);
    return;
  }
  ctx.tag('registered_model', request.name);
  if (request.alias) ctx.tag('registered_alias', request.alias);
  ctx.log(`model ${request.name} checked; no model registry in this build, so the request is recorded as run tags`);
}

registerBuiltins({ 'model.register': register });
