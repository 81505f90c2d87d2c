import * as vscode from 'vscode';
import {
  CancelRunRequest,
  RunPipelineRequest,
  isTerminalRunStatus,
  type RunProgressNotification,
  type RunStatus,
} from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import { runBlockedReason } from './paramsInput.js';
import { Commands } from './ids.js';

export interface RunRequest {
  pipeline: vscode.Uri;
  step?: string;
  downstream?: boolean;
  params?: Record<string, string>;
  force?: boolean;
}

export interface RunResult {
  runId: number;
  status: RunStatus;
}

/** Shows why running is off in Restricted Mode, with the way to change it. Returns false when running is blocked. */
export function checkTrust(): boolean {
  const reason = runBlockedReason(vscode.workspace.isTrusted);
  if (!reason) return true;
  void vscode.window.showWarningMessage(reason, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

/**
 * Starts runs and follows them to the end in a cancellable progress notification. Events are collected from before the
 * request is sent, so a run that finishes before its id comes back is still seen finishing.
 */
export class RunLauncher {
  private readonly finishedEmitter = new vscode.EventEmitter<RunResult & { pipeline: string }>();
  /** Every run started here, once it ends. */
  readonly onDidFinish = this.finishedEmitter.event;

  constructor(
    private readonly runtime: RuntimeClient,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** Runs and waits for the end; undefined when nothing ran (blocked, invalid pipeline, or an error already shown). */
  async run(request: RunRequest): Promise<RunResult | undefined> {
    if (!checkTrust()) return undefined;
    const seen = new Map<number, RunProgressNotification.Params[]>();
    const listeners = new Set<(p: RunProgressNotification.Params) => void>();
    const sub = this.runtime.onProgress((p) => {
      const list = seen.get(p.runId) ?? [];
      list.push(p);
      seen.set(p.runId, list);
      for (const l of listeners) l(p);
    });
    try {
      const what = request.step ? `${request.step}${request.downstream ? ' and downstream' : ''}` : 'all steps';
      const file = vscode.workspace.asRelativePath(request.pipeline);
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Cairn: ${file} — ${what}`, cancellable: true },
        async (progress, token) => {
          progress.report({ message: 'starting…' });
          const started = await this.runtime.request(RunPipelineRequest, {
            pipeline: request.pipeline.fsPath,
            ...(request.step === undefined ? {} : { step: request.step }),
            ...(request.downstream ? { downstream: true } : {}),
            ...(request.params && Object.keys(request.params).length > 0 ? { params: request.params } : {}),
            ...(request.force ? { force: true } : {}),
          });
          if (started.runId === null) {
            const errors = started.diagnostics.filter((d) => d.severity === 'error');
            const first = errors[0] ?? started.diagnostics[0];
            const where = first
              ? `${vscode.workspace.asRelativePath(first.file)}:${first.range.start.line + 1}: ${first.message}`
              : 'the pipeline is invalid';
            this.log.warn(`Run refused: ${started.diagnostics.length} problem(s); first: ${where}`);
            void vscode.window
              .showErrorMessage(
                `Cairn did not run ${file}: ${where}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}. Fix it and run again.`,
                'Show Problems',
              )
              .then((c) => {
                if (c) void vscode.commands.executeCommand('workbench.actions.view.problems');
              });
            return undefined;
          }
          const runId = started.runId;
          this.log.info(`Run #${runId} started: ${file} (${what}).`);
          const status = await new Promise<RunStatus>((resolve) => {
            const on = (p: RunProgressNotification.Params): void => {
              if (p.runId !== runId) return;
              if (p.step !== undefined) {
                progress.report({ message: `${p.step}: ${p.status}${p.cacheHit ? ' (cached)' : ''}` });
                return;
              }
              if (isTerminalRunStatus(p.status)) {
                listeners.delete(on);
                resolve(p.status as RunStatus);
              }
            };
            listeners.add(on);
            for (const p of seen.get(runId) ?? []) on(p);
            token.onCancellationRequested(() => {
              progress.report({ message: 'cancelling…' });
              void this.runtime
                .request(CancelRunRequest, { runId })
                .catch((error: unknown) => this.log.error(`Cancelling run #${runId} failed: ${String(error)}`));
            });
            // The runtime crashed mid-run: its restart marks the run interrupted; stop waiting.
            const stateSub = this.runtime.onDidChangeState((s) => {
              if (s === 'restarting' || s === 'failed' || s === 'stopped') {
                stateSub.dispose();
                listeners.delete(on);
                resolve('interrupted');
              }
            });
          });
          const result = { runId, status };
          this.finishedEmitter.fire({ ...result, pipeline: seen.get(runId)?.[0]?.pipeline ?? '' });
          const message = `Cairn: run #${runId} ${status}.`;
          if (status === 'succeeded') void vscode.window.showInformationMessage(message);
          else
            void vscode.window.showWarningMessage(`${message} The step logs say why.`, 'Show Logs').then((c) => {
              if (c) void vscode.commands.executeCommand(Commands.showRunLogs, runId);
            });
          return result;
        },
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.log.error(`Run failed to start: ${message}`);
      void vscode.window.showErrorMessage(`Cairn: the run did not start: ${message}`, 'Show Runtime Log').then((c) => {
        if (c) this.log.show(true);
      });
      return undefined;
    } finally {
      sub.dispose();
    }
  }

  dispose(): void {
    this.finishedEmitter.dispose();
  }
}
