import { lastResultText } from '../views/format.js';
import type { StepStateInfo } from '../views/stepStates.js';
import type { PipelineOutline } from './pipelineOutline.js';
import { Commands } from '../commands/ids.js';

/** One lens to show, before conversion to vscode.CodeLens (pure, unit-tested). */
export interface LensSpec<U> {
  offset: number;
  title: string;
  command: string;
  args: unknown[];
  tooltip?: string;
  uri?: U;
}

/**
 * Lenses of a pipeline file. Trusted: "Run all" and "Run with params…" on top; "Run step", "Run downstream" and the
 * step's last result (status, age, key metric; opens its log) on each step. Untrusted: no run lens at all, one lens
 * on top that explains why and how to change it.
 */
export function pipelineLenses<U>(
  uri: U,
  outline: PipelineOutline,
  trusted: boolean,
  states: ReadonlyMap<string, StepStateInfo> | undefined,
  nowMs: number,
): Array<LensSpec<U>> {
  if (!trusted) {
    return [
      {
        offset: outline.topOffset,
        title: '$(shield) Running is off in Restricted Mode',
        command: Commands.explainRestricted,
        args: [],
        tooltip: 'Cairn runs nothing in an untrusted workspace; validation still works.',
      },
    ];
  }
  const lenses: Array<LensSpec<U>> = [
    {
      offset: outline.topOffset,
      title: '$(play) Run all',
      command: Commands.runPipeline,
      args: [uri],
      tooltip: `Run every step of ${outline.name} (cached steps are restored)`,
    },
    {
      offset: outline.topOffset,
      title: '$(symbol-parameter) Run with params…',
      command: Commands.runWithParams,
      args: [uri],
      tooltip: 'Override params for this run',
    },
  ];
  for (const step of outline.steps) {
    lenses.push({
      offset: step.keyStart,
      title: '$(play) Run step',
      command: Commands.runStep,
      args: [uri, step.name],
      tooltip: `Run ${step.name} only`,
    });
    lenses.push({
      offset: step.keyStart,
      title: '$(run-below) Run downstream',
      command: Commands.runStepDownstream,
      args: [uri, step.name],
      tooltip: `Run ${step.name} and every step that depends on it`,
    });
    const info = states?.get(step.name);
    if (info?.runId !== undefined && info.status !== undefined) {
      lenses.push({
        offset: step.keyStart,
        title: `${lastResultText({ status: info.status, at: info.at ?? null, metrics: info.metrics ?? {} }, nowMs)}${info.state === 'stale' ? ' (stale)' : ''}`,
        command: Commands.openStepLog,
        args: [info.runId, step.name],
        tooltip: `${info.state}: ${info.why}. Click for the step's log.`,
      });
    }
  }
  return lenses;
}
