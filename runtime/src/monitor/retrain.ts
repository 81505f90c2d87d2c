import type { Engine } from '../executor/engine.js';
import { ensureBuiltinsFor } from '../executor/builtins.js';
import type { RunHandle } from '../executor/executor.js';
import { formatDiagnosticText, loadPipeline } from '../executor/loadPipeline.js';
import { MonitorError } from './monitor.js';

/**
 * Starts the retrain pipeline in this process, with the engine `cairn run` and the editor's runtime use; its
 * model.register step registers the new version (the samples register it as `challenger`).
 */
export async function startRetrain(
  engine: Engine,
  pipeline: string,
  overrides: Record<string, string>,
  cwd: string,
): Promise<RunHandle> {
  const loaded = loadPipeline(pipeline, { cwd, workspace: engine.workspace, overrides });
  if (!loaded.ok) {
    throw new MonitorError(
      `retrain pipeline ${pipeline}: ${loaded.message ?? loaded.diagnostics.map((d) => formatDiagnosticText(d)).join('; ')}`,
    );
  }
  await ensureBuiltinsFor(loaded.pipeline);
  return engine.start(loaded.pipeline);
}
