import type { ResolvedPipeline, ResolvedStep, ValidateDiagnostic } from '@cairn/protocol';
import { abSplitArms, mapGet, nodeAtPath } from '@cairn/protocol/pipeline/index.js';
import { formatDiagnosticText, loadPipeline, toValidateDiagnostic } from '../executor/loadPipeline.js';

/** The settings a pipeline's `deploy:` block gives `cairn serve`; a key absent here was not written there. */
export interface PipelineServeSettings {
  /** The pipeline file as named (`--pipeline`, or `cairn.yaml` as found), for messages. */
  file: string;
  /** Absolute path. */
  path: string;
  /** true: not named by `--pipeline` but found in the workspace. */
  found: boolean;
  /** From `deploy.serve`, when written. */
  host?: string;
  port?: number;
  /** From `deploy.ab`: which aliases are the two arms, the challenger's share and the sticky key column. */
  ab?: { champion: string; challenger: string; split: number; key?: string };
  /** The registered name of the deployed model (its `model.register` step's `name:`), or why there is none. */
  name: { value: string } | { why: string };
}

export type PipelineSettingsResult =
  | { ok: true; settings: PipelineServeSettings }
  /**
   * code 2: the file is missing, outside the workspace or has no `deploy:`; 1: it has errors (`diagnostics`, with
   * positions), `checkedByValidate` when they are the loader's (`cairn validate` shows them too), not serving's own.
   */
  | { ok: false; code: 1 | 2; text: string; diagnostics: ValidateDiagnostic[]; checkedByValidate?: boolean };

/** The registered name a pipeline deploys: its `model.register` step that registers `deploy.model`, else its only registered name. */
function registeredNameOf(pipeline: ResolvedPipeline, file: string): PipelineServeSettings['name'] {
  const registers = pipeline.steps.filter((s) => s.uses === 'model.register' && typeof s.with?.['name'] === 'string');
  const names = (steps: ResolvedStep[]): string[] => [...new Set(steps.map((s) => String(s.with?.['name'])))];
  const deployed = names(registers.filter((s) => s.with?.['model'] === pipeline.deploy?.model));
  const all = names(registers);
  const value = deployed.length === 1 ? deployed[0] : all.length === 1 ? all[0] : undefined;
  if (value !== undefined) return { value };
  return {
    why:
      registers.length === 0
        ? `${file} has no model.register step to name the model`
        : `${file} registers several models (${all.join(', ')}) and none of them by the path of deploy.model`,
  };
}

/**
 * Reads a pipeline's `deploy:` block for `cairn serve` with the same loader as `cairn run` (so it refuses what the
 * editor underlines, a `deploy.ab.split` that does not map to two arms or add up to 1 included), then reads the arms
 * with the language's own `abSplitArms`. Findings carry the file's line and column.
 */
export function pipelineServeSettings(
  file: string,
  options: { cwd: string; workspace: string; found?: boolean },
): PipelineSettingsResult {
  const loaded = loadPipeline(file, { cwd: options.cwd, workspace: options.workspace });
  if (!loaded.ok) {
    if (loaded.message) return { ok: false, code: 2, text: loaded.message, diagnostics: [] };
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    return {
      ok: false,
      code: 1,
      text: `${file} is not valid: ${errors.map(formatDiagnosticText).join('; ')}`,
      diagnostics: loaded.diagnostics,
      checkedByValidate: true,
    };
  }
  const { pipeline, document: doc } = loaded;
  const deploy = pipeline.deploy;
  if (!deploy)
    return {
      ok: false,
      code: 2,
      text: `${file} has no deploy: block, so there is nothing for cairn serve to take from it`,
      diagnostics: [],
    };
  // Positions (and whether deploy.serve was written at all) come from the parse the loader resolved.
  const written = (...keys: string[]): boolean => nodeAtPath(doc.root, keys) !== undefined;
  const settings: PipelineServeSettings = {
    file,
    path: pipeline.file,
    found: options.found ?? false,
    name: registeredNameOf(pipeline, file),
  };
  if (written('deploy', 'serve', 'host')) settings.host = deploy.serve.host;
  if (written('deploy', 'serve', 'port')) settings.port = deploy.serve.port;
  if (deploy.ab) {
    const deployEntry = mapGet(doc.root, 'deploy');
    const arms = abSplitArms(
      deploy.ab.split,
      nodeAtPath(doc.root, ['deploy', 'ab', 'split']),
      deployEntry?.keySpan ?? { start: 0, end: 0 },
    );
    if ('problems' in arms) {
      const diagnostics = arms.problems.map((p) => toValidateDiagnostic(file, doc.lines, p));
      return { ok: false, code: 1, text: diagnostics.map(formatDiagnosticText).join('; '), diagnostics };
    }
    settings.ab = {
      champion: arms.arms.champion,
      challenger: arms.arms.challenger,
      split: arms.arms.share,
      ...(deploy.ab.key !== undefined ? { key: deploy.ab.key } : {}),
    };
  }
  return { ok: true, settings };
}
