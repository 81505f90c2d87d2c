import * as vscode from 'vscode';
import { CancelRunRequest, GetRunRequest } from '@cairn/protocol';
import { pickPipeline, pickRun, pickStep, runtimeFile, type CommandContext, type Target } from './context.js';
import { overridesFromRun, parseParamOverrides } from './paramsInput.js';
import { checkTrust, type RunResult } from './runLauncher.js';
import { storeUrlSetting } from '../runtime/runtimeClient.js';
import { storePasswordKey, withoutPassword } from '../runtime/storeEnv.js';

/** Starting, re-running and cancelling runs: each factory takes the context and returns the command's handler. */

/** A whole pipeline, or one step (with `downstream`, and what depends on it); the step is picked when not given. */
async function runFrom(
  ctx: CommandContext,
  target: Target,
  step?: string,
  downstream?: boolean,
): Promise<RunResult | undefined> {
  if (!checkTrust()) return undefined;
  const entry = await pickPipeline(ctx.index, target);
  if (!entry) return undefined;
  const chosen = step === undefined && downstream === undefined ? undefined : await pickStep(entry, target, step);
  if ((step !== undefined || downstream !== undefined) && !chosen) return undefined;
  return ctx.launcher.run({
    pipeline: entry.uri,
    ...(chosen ? { step: chosen } : {}),
    ...(downstream ? { downstream } : {}),
  });
}

export const runPipeline = (ctx: CommandContext) => (target: Target) => runFrom(ctx, target);

// From a lens the step name comes as the second argument; from the palette it is picked.
export const runStep = (ctx: CommandContext) => (target: Target, step?: string) =>
  runFrom(ctx, target, step ?? '', false);

export const runStepDownstream = (ctx: CommandContext) => (target: Target, step?: string) =>
  runFrom(ctx, target, step ?? '', true);

export const runWithParams = (ctx: CommandContext) => async (target: Target) => {
  if (!checkTrust()) return undefined;
  const entry = await pickPipeline(ctx.index, target);
  if (!entry) return undefined;
  const text = await vscode.window.showInputBox({
    title: `Cairn: run ${entry.outline.name} with params`,
    prompt: 'Param overrides, e.g. lr=0.01 epochs=3 (converted by each param’s declared type)',
    validateInput: (v) => {
      const parsed = parseParamOverrides(v);
      return parsed.ok ? undefined : parsed.error;
    },
  });
  if (text === undefined) return undefined;
  const parsed = parseParamOverrides(text);
  if (!parsed.ok) return undefined;
  return ctx.launcher.run({ pipeline: entry.uri, params: parsed.params });
};

export const cancelRun = (ctx: CommandContext) => async (target: Target) => {
  const runId = await pickRun(ctx.runtime, target, 'Cairn: cancel which run?', ['running']);
  if (runId === undefined) return undefined;
  const { cancelled } = await ctx.runtime.request(CancelRunRequest, { runId });
  void vscode.window.showInformationMessage(
    cancelled ? `Cairn: cancelling run #${runId}.` : `Cairn: run #${runId} is not running.`,
  );
  return cancelled;
};

/** The pipeline of a run again, with the params it was given (secrets: their defaults). */
export const rerun = (ctx: CommandContext) => async (target: Target) => {
  if (!checkTrust()) return undefined;
  const runId = await pickRun(ctx.runtime, target, 'Cairn: re-run which run?');
  if (runId === undefined) return undefined;
  const run = ctx.experiments.run(runId) ?? (await ctx.runtime.request(GetRunRequest, { runId }));
  const file = runtimeFile(run.pipelineFile);
  if (!file) return undefined;
  return ctx.launcher.run({ pipeline: file, params: overridesFromRun(run.params) });
};

export const restartRuntime = (ctx: CommandContext) => async () => {
  if (!checkTrust()) return;
  await ctx.runtime.restart();
};

/** Asks for the tracking store's password, keeps it in SecretStorage (never in settings), restarts the runtime. */
export const setStorePassword = (ctx: CommandContext) => async () => {
  const url = storeUrlSetting();
  if (url === '') {
    void vscode.window.showInformationMessage(
      'Cairn: set `cairn.store.url` (a postgres:// URL) first; the password is kept apart from it.',
    );
    return;
  }
  const password = await vscode.window.showInputBox({
    title: `Password for ${withoutPassword(url)}`,
    password: true,
    ignoreFocusOut: true,
  });
  if (password === undefined) return;
  await ctx.secrets.store(storePasswordKey(url), password);
  if (checkTrust()) await ctx.runtime.restart();
};

export const explainRestricted = () => () => checkTrust();
