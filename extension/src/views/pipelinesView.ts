import * as vscode from 'vscode';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import { formatAge } from './format.js';
import type { PipelineEntry, PipelineIndex } from './pipelineIndex.js';
import type { StepStateService } from './stepStateService.js';
import { stepStateIcon } from './stepStates.js';
import { Commands } from '../commands/ids.js';

export type PipelineNode =
  | { kind: 'pipeline'; entry: PipelineEntry }
  | { kind: 'step'; entry: PipelineEntry; step: string }
  | { kind: 'message'; text: string };

/** The Pipelines tree: each pipeline file → its steps, with their cache state (fresh / stale / running / failed). */
export class PipelinesView implements vscode.TreeDataProvider<PipelineNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PipelineNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private roots: PipelineNode[] = [];

  constructor(
    private readonly index: PipelineIndex,
    private readonly states: StepStateService,
    private readonly runtime: RuntimeClient,
  ) {
    this.disposables.push(
      index.onDidChange(() => this.changed.fire(undefined)),
      states.onDidChange((name) => {
        if (name === undefined) return this.changed.fire(undefined);
        // Only a pipeline the tree shows; one it has not rendered yet asks for its steps when it does.
        const node = this.roots.find((r) => r.kind === 'pipeline' && r.entry.outline.name === name);
        if (node) this.changed.fire(node);
      }),
      runtime.onDidChangeState(() => this.changed.fire(undefined)),
    );
  }

  refresh(): void {
    this.states.invalidateAll();
    void this.index.rescan();
  }

  getTreeItem(node: PipelineNode): vscode.TreeItem | Promise<vscode.TreeItem> {
    switch (node.kind) {
      case 'pipeline': {
        const item = new vscode.TreeItem(node.entry.outline.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `pipeline:${node.entry.uri.toString()}`;
        item.description = vscode.workspace.asRelativePath(node.entry.uri);
        item.resourceUri = node.entry.uri;
        item.iconPath = new vscode.ThemeIcon('type-hierarchy-sub');
        item.contextValue = 'cairn.pipeline';
        item.command = { command: 'vscode.open', title: 'Open Pipeline', arguments: [node.entry.uri] };
        return item;
      }
      case 'step': {
        const item = new vscode.TreeItem(node.step, vscode.TreeItemCollapsibleState.None);
        item.id = `step:${node.entry.uri.toString()}#${node.step}`;
        item.contextValue = 'cairn.step';
        const s = node.entry.outline.steps.find((x) => x.name === node.step);
        if (s)
          item.command = { command: Commands.revealStep, title: 'Go to Step', arguments: [node.entry.uri, s.keyStart] };
        // The state needs the runtime: the item is a promise, so the tree shows the state without a hover.
        return this.decorateStep(item, node);
      }
      case 'message':
        return new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    }
  }

  async getChildren(node?: PipelineNode): Promise<PipelineNode[]> {
    if (!node) {
      const entries = await this.index.all();
      this.roots = entries.map((entry) => ({ kind: 'pipeline', entry }));
      return this.roots.length > 0
        ? this.roots
        : [{ kind: 'message', text: 'No cairn.yaml or *.cairn.yaml in this workspace.' }];
    }
    if (node.kind !== 'pipeline') return [];
    const children: PipelineNode[] = node.entry.outline.steps.map((s) => ({
      kind: 'step',
      entry: node.entry,
      step: s.name,
    }));
    return children;
  }

  private async decorateStep(item: vscode.TreeItem, node: PipelineNode & { kind: 'step' }): Promise<vscode.TreeItem> {
    if (this.runtime.currentState === 'untrusted') {
      item.description = 'not run in Restricted Mode';
      return item;
    }
    try {
      const info = (await this.states.states(node.entry)).get(node.step);
      if (!info) return item;
      const look = stepStateIcon(info.state);
      item.iconPath = new vscode.ThemeIcon(look.icon, look.color ? new vscode.ThemeColor(look.color) : undefined);
      item.description = `${info.state}${info.at ? ` · ${formatAge(info.at, Date.now())}` : ''}`;
      item.tooltip = `${node.step}: ${info.state} — ${info.why}`;
    } catch (error) {
      item.description = 'state unknown';
      item.tooltip = `Could not read the step's runs: ${error instanceof Error ? error.message : String(error)}`;
    }
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
