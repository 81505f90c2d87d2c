import * as vscode from 'vscode';
import type { PipelineIndex } from '../views/pipelineIndex.js';
import type { StepStateService } from '../views/stepStateService.js';
import type { StepStateInfo } from '../views/stepStates.js';
import type { LensContributor } from './lensRegistry.js';
import { pipelineLenses } from './lensModel.js';
import { outlinePipeline } from './pipelineOutline.js';

/** CodeLens on pipeline files: run all / run step / run downstream, and each step's last result inline. */
export class PipelineLensProvider implements LensContributor, vscode.Disposable {
  readonly selector: vscode.DocumentSelector = [
    { language: 'cairn-pipeline' },
    { scheme: 'file', pattern: '**/{cairn,*.cairn}.{yaml,yml}' },
  ];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly index: PipelineIndex,
    private readonly states: StepStateService,
  ) {
    this.disposables.push(
      states.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
    );
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    // The live text, not the file on disk: lenses follow edits before a save.
    const outline = outlinePipeline(document.uri.fsPath, document.getText());
    const trusted = vscode.workspace.isTrusted;
    let states: Map<string, StepStateInfo> | undefined;
    if (trusted && this.states.available) {
      const entry = await this.index.byUri(document.uri);
      if (entry) {
        try {
          states = await this.states.states({ ...entry, outline });
        } catch {
          // No runtime (yet): the run lenses still show; the last-result lens appears once the runtime answers.
          states = undefined;
        }
      }
    }
    if (token.isCancellationRequested) return [];
    return pipelineLenses(document.uri, outline, trusted, states, Date.now()).map((spec) => {
      const at = document.positionAt(spec.offset);
      return new vscode.CodeLens(new vscode.Range(at, at), {
        title: spec.title,
        command: spec.command,
        arguments: spec.args,
        ...(spec.tooltip ? { tooltip: spec.tooltip } : {}),
      });
    });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
