import * as vscode from 'vscode';
import { isPipelineFile } from '@cairn/protocol';
import type { RuntimeClient } from '../runtime/runtimeClient.js';
import type { PipelineIndex } from '../views/pipelineIndex.js';

/**
 * Checks off the Getting Started steps by what the user does: each sets a context key that a walkthrough step's
 * `completionEvents` names (package.json). Compare, lineage and drift complete on their commands directly.
 */
export const WalkthroughKeys = {
  pipelineOpened: 'cairn.walkthrough.pipelineOpened',
  diagnosticFixed: 'cairn.walkthrough.diagnosticFixed',
  ran: 'cairn.walkthrough.ran',
  deployed: 'cairn.walkthrough.deployed',
} as const;

export class WalkthroughProgress implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly withErrors = new Set<string>();
  private readonly done = new Set<string>();

  constructor(runtime: RuntimeClient, index: PipelineIndex) {
    const onEditor = (editor: vscode.TextEditor | undefined) => {
      if (editor && (editor.document.languageId === 'cairn-pipeline' || isPipelineFile(editor.document.uri.fsPath)))
        this.set(WalkthroughKeys.pipelineOpened);
    };
    onEditor(vscode.window.activeTextEditor);
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor(onEditor),
      vscode.languages.onDidChangeDiagnostics((e) => {
        for (const uri of e.uris) {
          if (!isPipelineFile(uri.fsPath)) continue;
          const key = uri.toString();
          const errors = vscode.languages
            .getDiagnostics(uri)
            .filter((d) => d.source === 'cairn' && d.severity === vscode.DiagnosticSeverity.Error).length;
          if (errors > 0) this.withErrors.add(key);
          else if (this.withErrors.delete(key)) this.set(WalkthroughKeys.diagnosticFixed);
        }
      }),
      runtime.onProgress((p) => {
        // A teammate's run seen in a shared store is not something the user did.
        if (p.status !== 'succeeded' || p.elsewhere) return;
        if (p.step === undefined) {
          this.set(WalkthroughKeys.ran);
          return;
        }
        // A deploy step that succeeded is the walkthrough's last step.
        void index.byName(p.pipeline).then((entry) => {
          const uses = entry?.outline.steps.find((s) => s.name === p.step)?.uses ?? '';
          if (/(^|\.)deploy/.test(uses)) this.set(WalkthroughKeys.deployed);
        });
      }),
    );
  }

  /** A deployment was started from the extension (the deploy lens or the Models view). */
  deployed(): void {
    this.set(WalkthroughKeys.deployed);
  }

  private set(key: string): void {
    if (this.done.has(key)) return;
    this.done.add(key);
    void vscode.commands.executeCommand('setContext', key, true);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
