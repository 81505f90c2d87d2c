import * as vscode from 'vscode';
import { isPipelineFile } from '@cairn/protocol';
import { deployBlock, deployLenses, registerSteps, samePath, type DeployLensInput } from '../models/modelsModel.js';
import type { ModelEntry, ModelsService } from '../models/modelsService.js';
import type { LensContributor } from './lensRegistry.js';

/**
 * The deploy lenses on the model card of a registered model and on a pipeline's `uses: model.register`
 * step: "Deploy locally", the promotion gate state of the model's latest version (CheckGatesRequest), and the URL of a
 * deployment serving it. Refreshed when the models change (ModelsChangedNotification, a run finishing).
 */
export class ModelLensProvider implements LensContributor, vscode.Disposable {
  readonly selector: vscode.DocumentSelector = [
    { language: 'cairn-model-card' },
    { scheme: 'file', pattern: '**/{MODEL_CARD.md,*.modelcard.md}' },
    { language: 'cairn-pipeline' },
    { scheme: 'file', pattern: '**/{cairn,*.cairn}.{yaml,yml}' },
  ];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly models: ModelsService) {
    this.disposables.push(
      models.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
    );
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    const trusted = vscode.workspace.isTrusted;
    const places = this.places(document);
    if (places.length === 0) return [];
    // Without a runtime nothing is known about the models: no lens rather than a wrong one (they refresh once it is up).
    if (trusted && !this.models.available) return [];
    let entries: readonly ModelEntry[] = [];
    if (trusted) {
      try {
        entries = await this.models.models();
      } catch {
        // No registry answer (yet): the lenses say the model is not registered; they refresh when models change.
        entries = [];
      }
    }
    const inputs: DeployLensInput[] = [];
    for (const place of places) {
      const entry = place.model
        ? entries.find((m) => m.summary.name === place.model)
        : place.card
          ? entries.find((m) =>
              m.detail?.versions.some((v) => v.cardPath !== null && samePath(v.cardPath, place.card ?? '')),
            )
          : undefined;
      // A card nobody registered: no lens (it may be a card of something else).
      if (!entry && !place.model) continue;
      const name = entry?.summary.name ?? place.model ?? '';
      const version = entry?.summary.latestVersion;
      let gates: DeployLensInput['gates'];
      if (trusted && version !== undefined) {
        try {
          gates = await this.models.checkGates(name, version);
        } catch (error) {
          gates = {
            error: `The gates could not be checked: ${error instanceof Error ? error.message : String(error)}`,
          };
        }
      }
      const serving = entry?.status?.deployments.find((d) => d.status === 'serving');
      inputs.push({
        offset: place.offset,
        model: name,
        trusted,
        version,
        gates,
        serving,
        ...(place.pipeline !== undefined ? { pipeline: place.pipeline } : {}),
      });
    }
    if (token.isCancellationRequested) return [];
    return inputs.flatMap(deployLenses).map((spec) => {
      const at = document.positionAt(spec.offset);
      return new vscode.CodeLens(new vscode.Range(at, at), {
        title: spec.title,
        command: spec.command,
        arguments: spec.args,
        ...(spec.tooltip ? { tooltip: spec.tooltip } : {}),
      });
    });
  }

  /**
   * Where lenses go: a card's first line (its model is found by card path), each register step's key, the `deploy:` key
   * (which deploys with the pipeline's settings, so it names the file).
   */
  private places(
    document: vscode.TextDocument,
  ): Array<{ offset: number; model?: string; card?: string; pipeline?: string }> {
    const file = document.uri.fsPath;
    if (document.languageId === 'cairn-pipeline' || isPipelineFile(file)) {
      const text = document.getText();
      const block = deployBlock(file, text);
      return [
        ...registerSteps(file, text).flatMap((s) => (s.model ? [{ offset: s.keyStart, model: s.model }] : [])),
        ...(block ? [{ offset: block.keyStart, model: block.model, pipeline: file }] : []),
      ];
    }
    const relative = vscode.workspace.asRelativePath(document.uri, false);
    // Past a front matter block, where the card's text starts.
    const text = document.getText();
    const fm = /^---\r?\n[\s\S]*?\r?\n---\r?\n/.exec(text);
    return [{ offset: fm ? fm[0].length : 0, card: relative }];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
