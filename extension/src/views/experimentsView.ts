import * as vscode from 'vscode';
import { GetRunRequest, ListRunsRequest, type RunCursor, type RunSummary } from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import {
  runContextValue,
  runDescription,
  runLabel,
  runStatusColor,
  runStatusIcon,
  formatDuration,
  formatMetric,
  slurmJobsText,
} from './format.js';
import { describeView, foldSweeps, RunsModel } from './runsModel.js';
import { Commands } from '../commands/ids.js';

export type ExperimentNode =
  | { kind: 'group'; pipeline: string }
  | { kind: 'run'; runId: number }
  /** The loaded runs of one sweep (`cairn sweep`), folded under one node of their pipeline's group. */
  | { kind: 'sweep'; pipeline: string; sweepId: number }
  | { kind: 'more'; pipeline: string }
  | { kind: 'message'; text: string; tooltip?: string; command?: vscode.Command };

/**
 * The Experiments tree: runs grouped by pipeline, newest first, a page at a time ("Load more"). Run notifications
 * update one node each (coalesced per animation-ish tick), never the whole tree, so it stays fluid at 10,000 runs.
 */
export class ExperimentsView implements vscode.TreeDataProvider<ExperimentNode>, vscode.Disposable {
  readonly model = new RunsModel();
  private readonly changed = new vscode.EventEmitter<ExperimentNode | ExperimentNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly groupNodes = new Map<string, ExperimentNode & { kind: 'group' }>();
  private readonly runNodes = new Map<number, ExperimentNode & { kind: 'run' }>();
  private readonly sweepNodes = new Map<number, ExperimentNode & { kind: 'sweep' }>();
  private readonly moreNodes = new Map<string, ExperimentNode & { kind: 'more' }>();
  private readonly fetching = new Set<number>();
  private pending = new Set<ExperimentNode>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private loadError: string | undefined;
  /** Nodes the tree has been given: refreshing any other one only logs "no tree item" in the workbench. */
  private readonly known = new Set<ExperimentNode>();
  private readonly updatedEmitter = new vscode.EventEmitter<void>();
  /** Fires after the model changed: a page arrived, a run was added or updated (tests wait for it, never sleep). */
  readonly onDidUpdate = this.updatedEmitter.event;

  constructor(
    private readonly runtime: RuntimeClient,
    private readonly knownPipelines: () => Promise<string[]>,
  ) {
    this.disposables.push(
      runtime.onProgress((p) => {
        const effect = this.model.applyProgress(p);
        if (effect.kind === 'run') {
          this.queue(this.runNode(effect.run.id));
          // Final metrics and times come with the stored run.
          if (effect.finished) void this.fetchRun(effect.run.id);
        } else if (effect.kind === 'unknown') void this.fetchRun(effect.runId);
      }),
      runtime.onMetric((m) => {
        const run = this.model.applyMetric(m);
        if (run) this.queue(this.runNode(run.id));
      }),
      runtime.onReady(() => this.refresh()),
      runtime.onDidChangeState(() => this.fireAll()),
    );
  }

  /** Full reload: the filter or sort changed, the runtime restarted, or the user asked. */
  refresh(): void {
    this.model.invalidate();
    this.loadError = undefined;
    this.fireAll();
  }

  private fireAll(): void {
    this.known.clear();
    this.changed.fire(undefined);
  }

  private fire(nodes: ExperimentNode[]): void {
    const shown = nodes.filter((n) => this.known.has(n));
    if (shown.length > 0) this.changed.fire(shown);
  }

  /** The loaded run, if any (commands on a node). */
  run(runId: number): RunSummary | undefined {
    return this.model.run(runId);
  }

  removeRun(runId: number): void {
    const pipeline = this.model.removeRun(runId);
    this.runNodes.delete(runId);
    if (pipeline !== undefined) this.fire([this.groupNode(pipeline)]);
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    const now = Date.now();
    switch (node.kind) {
      case 'group': {
        const g = this.model.group(node.pipeline);
        const item = new vscode.TreeItem(node.pipeline, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `group:${node.pipeline}`;
        item.iconPath = new vscode.ThemeIcon('beaker');
        item.description = g?.loaded ? `${g.total} run${g.total === 1 ? '' : 's'}` : '';
        item.contextValue = 'cairn.pipelineRuns';
        return item;
      }
      case 'run': {
        const run = this.model.run(node.runId);
        const item = new vscode.TreeItem(run ? runLabel(run) : `#${node.runId}`, vscode.TreeItemCollapsibleState.None);
        item.id = `run:${node.runId}`;
        if (!run) return item;
        const color = runStatusColor(run.status);
        item.iconPath = new vscode.ThemeIcon(
          runStatusIcon(run.status),
          color ? new vscode.ThemeColor(color) : undefined,
        );
        item.description = runDescription(run, now, undefined, this.runtime.info?.user);
        item.tooltip = runTooltip(run);
        item.contextValue = runContextValue(run);
        item.command = { command: Commands.showRunLogs, title: 'Show Logs', arguments: [node] };
        return item;
      }
      case 'sweep': {
        const runs = this.model.group(node.pipeline)?.runs.filter((r) => r.sweepId === node.sweepId) ?? [];
        const item = new vscode.TreeItem(`sweep ${node.sweepId}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `sweep:${node.sweepId}`;
        item.iconPath = new vscode.ThemeIcon('graph-line');
        const running = runs.filter((r) => r.status === 'running').length;
        item.description = `${runs.length} run${runs.length === 1 ? '' : 's'}${running > 0 ? `, ${running} running` : ''}`;
        item.tooltip = 'A parameter sweep: click to compare its runs (parallel coordinates over the swept params).';
        item.contextValue = 'cairn.sweep';
        item.command = { command: Commands.compareSweep, title: 'Compare Sweep', arguments: [node.sweepId] };
        return item;
      }
      case 'more': {
        const left = this.model.remaining(node.pipeline);
        const item = new vscode.TreeItem(`Load ${Math.min(left, 100)} more…`, vscode.TreeItemCollapsibleState.None);
        item.id = `more:${node.pipeline}`;
        item.description = `${left} not shown`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: Commands.loadMore, title: 'Load More', arguments: [node] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('info');
        item.tooltip = node.tooltip ?? node.text;
        if (node.command) item.command = node.command;
        return item;
      }
    }
  }

  async getChildren(node?: ExperimentNode): Promise<ExperimentNode[]> {
    const children = await this.children(node);
    for (const c of children) this.known.add(c);
    return children;
  }

  private async children(node?: ExperimentNode): Promise<ExperimentNode[]> {
    if (!node) return this.roots();
    if (node.kind === 'sweep') {
      const folded = foldSweeps(this.model.group(node.pipeline)?.runs ?? []);
      const mine = folded.find((c) => 'sweepId' in c && c.sweepId === node.sweepId);
      return mine && 'runIds' in mine ? mine.runIds.map((id) => this.runNode(id)) : [];
    }
    if (node.kind !== 'group') return [];
    let g = this.model.group(node.pipeline);
    if (!g?.loaded) {
      try {
        await this.loadPage(node.pipeline);
      } catch (error) {
        return [
          { kind: 'message', text: `Could not load runs: ${error instanceof Error ? error.message : String(error)}` },
        ];
      }
      g = this.model.group(node.pipeline);
    }
    if (!g) return [];
    const children: ExperimentNode[] = foldSweeps(g.runs).map((c) =>
      'runId' in c ? this.runNode(c.runId) : this.sweepNode(node.pipeline, c.sweepId),
    );
    if (this.model.remaining(node.pipeline) > 0) children.push(this.moreNode(node.pipeline));
    return children;
  }

  /** "Load more": the next page of a group, appended. */
  async loadMore(pipeline: string): Promise<void> {
    await this.loadPage(pipeline, this.model.nextCursor(pipeline));
    this.fire([this.groupNode(pipeline)]);
  }

  private async roots(): Promise<ExperimentNode[]> {
    const state = this.runtime.currentState;
    if (state === 'untrusted') {
      return [
        {
          kind: 'message',
          text: 'Runs are off in Restricted Mode',
          tooltip:
            'Cairn starts its runtime (which runs pipelines and reads the run store) only in a trusted workspace. Validation still works.',
          command: { command: 'workbench.trust.manage', title: 'Manage Workspace Trust' },
        },
      ];
    }
    if (state === 'noFolder') return [{ kind: 'message', text: 'Open a folder with a Cairn pipeline to track runs.' }];
    if (state === 'failed')
      return [
        {
          kind: 'message',
          text: 'The runtime failed: click to restart',
          command: { command: Commands.restartRuntime, title: 'Restart Runtime' },
        },
      ];
    try {
      await this.runtime.whenReady();
    } catch (error) {
      return [{ kind: 'message', text: error instanceof Error ? error.message : String(error) }];
    }
    this.model.addPipelines(await this.knownPipelines());
    const names = this.model.pipelines();
    const nodes: ExperimentNode[] = [];
    const filter = describeView(this.model.view);
    if (filter)
      nodes.push({
        kind: 'message',
        text: `Filter: ${filter}`,
        tooltip: 'Cairn: Clear Run Filter removes it.',
        command: { command: Commands.clearFilter, title: 'Clear Filter' },
      });
    if (names.length === 0) nodes.push({ kind: 'message', text: 'No runs yet: run a pipeline (Cairn: Run Pipeline).' });
    if (this.loadError) nodes.push({ kind: 'message', text: this.loadError });
    return [...nodes, ...names.map((n) => this.groupNode(n))];
  }

  private async loadPage(pipeline: string, after?: RunCursor): Promise<void> {
    const page = await this.runtime.request(ListRunsRequest, this.model.pageQuery(pipeline, after));
    this.model.acceptPage(pipeline, page, after);
    this.updatedEmitter.fire();
  }

  private async fetchRun(runId: number): Promise<void> {
    if (this.fetching.has(runId)) return;
    this.fetching.add(runId);
    try {
      const detail = await this.runtime.request(GetRunRequest, { runId });
      const { paramDetails: _p, steps: _s, ...summary } = detail;
      const isNewGroup = this.model.group(summary.pipeline) === undefined;
      const effect = this.model.upsertRun(summary);
      if (isNewGroup) {
        this.fireAll();
        this.updatedEmitter.fire();
      } else if (effect === 'updated') this.queue(this.runNode(runId));
      else if (effect !== 'filtered') this.queue(this.groupNode(summary.pipeline));
    } catch (error) {
      this.loadError = `Could not read run #${runId}: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      this.fetching.delete(runId);
    }
  }

  /** Coalesces node refreshes: a burst of metric notifications becomes one tree update. */
  private queue(node: ExperimentNode): void {
    this.updatedEmitter.fire();
    this.pending.add(node);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const nodes = [...this.pending];
      this.pending = new Set();
      this.fire(nodes);
    }, 100);
  }

  private groupNode(pipeline: string): ExperimentNode & { kind: 'group' } {
    let n = this.groupNodes.get(pipeline);
    if (!n) this.groupNodes.set(pipeline, (n = { kind: 'group', pipeline }));
    return n;
  }

  private runNode(runId: number): ExperimentNode & { kind: 'run' } {
    let n = this.runNodes.get(runId);
    if (!n) this.runNodes.set(runId, (n = { kind: 'run', runId }));
    return n;
  }

  private sweepNode(pipeline: string, sweepId: number): ExperimentNode & { kind: 'sweep' } {
    let n = this.sweepNodes.get(sweepId);
    if (!n) this.sweepNodes.set(sweepId, (n = { kind: 'sweep', pipeline, sweepId }));
    return n;
  }

  private moreNode(pipeline: string): ExperimentNode & { kind: 'more' } {
    let n = this.moreNodes.get(pipeline);
    if (!n) this.moreNodes.set(pipeline, (n = { kind: 'more', pipeline }));
    return n;
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
    this.updatedEmitter.dispose();
  }
}

function runTooltip(run: RunSummary): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Run #${run.id}** — ${run.pipeline} — ${run.status}\n\n`);
  md.appendMarkdown(
    `Started ${new Date(run.startedAt).toLocaleString()}${run.durationMs !== null ? `, took ${formatDuration(run.durationMs)}` : ''}\n\n`,
  );
  if (run.user) md.appendText(`Started by ${run.user}${run.host ? ` on ${run.host}` : ''}\n\n`);
  if (run.error) md.appendText(`Error: ${run.error}\n\n`);
  const params = Object.entries(run.params);
  if (params.length > 0) md.appendText(`Params: ${params.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}\n\n`);
  const metrics = Object.entries(run.metrics);
  if (metrics.length > 0)
    md.appendText(`Metrics: ${metrics.map(([k, v]) => `${k}=${formatMetric(v)}`).join(', ')}\n\n`);
  const jobs = slurmJobsText(run.tags);
  if (jobs) md.appendText(`${jobs}\n\n`);
  if (run.gitCommit) md.appendText(`git ${run.gitCommit.slice(0, 10)}${run.gitDirty ? ' (dirty)' : ''}`);
  return md;
}
