import * as vscode from 'vscode';
import { GetRunRequest, ListRunsRequest, type RunDetail } from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import type { PipelineEntry } from './pipelineIndex.js';
import { stepStates, type StepStateInfo } from './stepStates.js';

/** Runs read per pipeline to find each step's last result (a step not in them shows as never run). */
const recentRuns = 10;

/**
 * Step states per pipeline, for the Pipelines tree and the CodeLens: read from the pipeline's latest runs, cached, and
 * re-read (debounced) when a run of that pipeline reports progress.
 */
export class StepStateService implements vscode.Disposable {
  private readonly cache = new Map<string, Promise<Map<string, StepStateInfo>>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with a pipeline name (its states changed) or undefined (all). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly runtime: RuntimeClient) {
    this.disposables.push(
      runtime.onProgress((p) => this.invalidate(p.pipeline, p.step === undefined ? 0 : 250)),
      runtime.onReady(() => this.invalidateAll()),
    );
  }

  /** States can be read now without waiting for the runtime (lenses do not wait: they refresh on ready). */
  get available(): boolean {
    return this.runtime.currentState === 'ready';
  }

  async states(entry: PipelineEntry): Promise<Map<string, StepStateInfo>> {
    const key = entry.outline.name;
    let p = this.cache.get(key);
    if (!p) {
      p = this.load(entry);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
    }
    return p;
  }

  invalidateAll(): void {
    this.cache.clear();
    this.changed.fire(undefined);
  }

  private invalidate(pipeline: string, delayMs: number): void {
    clearTimeout(this.timers.get(pipeline));
    this.timers.set(
      pipeline,
      setTimeout(() => {
        this.timers.delete(pipeline);
        this.cache.delete(pipeline);
        this.changed.fire(pipeline);
      }, delayMs),
    );
  }

  private async load(entry: PipelineEntry): Promise<Map<string, StepStateInfo>> {
    const page = await this.runtime.request(ListRunsRequest, {
      filter: { pipeline: entry.outline.name },
      sort: { by: 'startedAt', order: 'desc' },
      offset: 0,
      limit: recentRuns,
    });
    const details: RunDetail[] = [];
    const wanted = new Set(entry.outline.steps.map((s) => s.name));
    for (const run of page.runs) {
      const detail = await this.runtime.request(GetRunRequest, { runId: run.id });
      details.push(detail);
      for (const s of detail.steps) if (s.status !== 'pending' && s.status !== 'skipped') wanted.delete(s.step);
      if (wanted.size === 0) break;
    }
    return stepStates(entry.outline.steps, details, entry.mtime);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
