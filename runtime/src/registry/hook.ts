import type { BuiltinContext } from '../builtins/types.js';
import { StepError } from '../builtins/types.js';
import type { ModelRegistry as RegistryHook, RegisterRequest } from '../builtins/model.js';
import type { ObjectStore } from '../cas/objectStore.js';
import type { Store } from '../store/store.js';
import { ModelRegistry, RegistryError } from './registry.js';

/** What the executor knows about the step that runs model.register: where to register and under which run. */
export interface RegistryScope {
  store: Store;
  objects: ObjectStore;
  workspace: string;
  runId: number;
  stepRunId: number;
}

// Keyed by the step's context, so concurrent runs of several engines in one process never mix their stores.
const scopes = new WeakMap<BuiltinContext, RegistryScope>();

const hook: RegistryHook = {
  async register(request: RegisterRequest, ctx: BuiltinContext): Promise<{ version: number }> {
    const scope = scopes.get(ctx);
    if (!scope)
      throw new StepError(
        'model.register: no model registry for this step (it was not started by a run); run the pipeline with `cairn run`',
      );
    const registry = new ModelRegistry(scope.store, scope.objects, scope.workspace);
    try {
      const result = await registry.register({
        name: request.name,
        model: request.model,
        ...(request.card === undefined ? {} : { card: request.card }),
        ...(request.alias === undefined ? {} : { alias: request.alias }),
        runId: scope.runId,
        stepRunId: scope.stepRunId,
        step: request.step,
        actor: `run ${scope.runId} (step ${request.step})`,
      });
      if (!result.created)
        ctx.log(
          `${request.name} version ${result.version} already holds this model from this run; not registered twice`,
        );
      if (result.alias?.changed)
        ctx.log(
          `alias ${result.alias.alias}: ${result.alias.previous === null ? 'new' : `version ${result.alias.previous}`} → version ${result.version}`,
        );
      return { version: result.version };
    } catch (error) {
      if (error instanceof RegistryError) throw new StepError(`model.register: ${error.message}`);
      throw error;
    }
  },
};

let installed = false;

/**
 * Called by the executor for a model.register step: installs the registry as model.register's hook (once; the
 * built-in is loaded by then, so the import costs nothing) and binds this step's context to its run and store.
 */
export async function bindModelRegistry(ctx: BuiltinContext, scope: RegistryScope): Promise<void> {
  scopes.set(ctx, scope);
  if (installed) return;
  const { setModelRegistry } = await import('../builtins/model.js');
  setModelRegistry(hook);
  installed = true;
}
