import { mkdtempSync, rmSync, realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ParamType, ResolvedPipeline, ResolvedStep, RunEvent } from '@cairn/protocol';
import { processAlive } from '../../../runtime/src/util/process.js';

/** A fresh workspace folder; removed by the returned cleanup. */
export function tempWorkspace(prefix = 'cairn-engine-'): { dir: string; cleanup: () => void } {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What every test step starts from: no edges, files, params or metrics, cached (fresh arrays each time). */
const stepDefaults = (): Omit<ResolvedStep, 'name' | 'kind'> => ({
  needs: [],
  deps: [],
  outs: {},
  params: [],
  metrics: [],
  env: {},
  resources: {},
  gate: {},
  cache: true,
});

export function commandStep(name: string, run: string, fields: Partial<ResolvedStep> = {}): ResolvedStep {
  return { name, kind: 'run', run, ...stepDefaults(), ...fields };
}

export function builtinStep(
  name: string,
  uses: string,
  options: Record<string, unknown>,
  fields: Partial<ResolvedStep> = {},
): ResolvedStep {
  return { name, kind: 'uses', uses, with: options, ...stepDefaults(), ...fields };
}

export function pipelineOf(
  root: string,
  steps: ResolvedStep[],
  params: Record<string, { value: unknown; type?: ParamType; secret?: boolean; overridden?: boolean }> = {},
  name = 'test',
): ResolvedPipeline {
  const full: ResolvedPipeline['params'] = {};
  for (const [k, p] of Object.entries(params))
    full[k] = {
      value: p.value,
      type: p.type ?? 'string',
      secret: p.secret ?? false,
      overridden: p.overridden ?? false,
    };
  return { name, file: path.join(root, 'cairn.yaml'), root, params: full, steps };
}

/** Collects run events; `waitFor` resolves on the first event matching a predicate (a signal, never a sleep). */
export class EventLog {
  readonly events: RunEvent[] = [];
  private waiters: Array<{ match: (e: RunEvent) => boolean; resolve: (e: RunEvent) => void }> = [];
  readonly listener = (e: RunEvent): void => {
    this.events.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(e)) return true;
      w.resolve(e);
      return false;
    });
  };
  waitFor(match: (e: RunEvent) => boolean): Promise<RunEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
  logLines(step: string): string[] {
    return this.events.flatMap((e) => (e.type === 'log' && e.step === step ? [e.line] : []));
  }
}

/** True while a process with this pid runs (a zombie waiting for its reaper counts as dead: it runs nothing). */
export const alive = processAlive;
