import * as vscode from 'vscode';
import type { PipelineIndex } from '../views/pipelineIndex.js';

/**
 * "Validate Workspace": opens every pipeline file (without showing it) so the language server checks each, waits for
 * their diagnostics, and summarises. Works in Restricted Mode: validation runs nothing.
 */
export async function validateWorkspace(
  index: PipelineIndex,
  log: vscode.LogOutputChannel,
): Promise<{ files: number; errors: number; warnings: number }> {
  await index.rescan();
  const entries = await index.all();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Cairn: validating pipelines…', cancellable: true },
    async (progress, token) => {
      let errors = 0;
      let warnings = 0;
      for (const entry of entries) {
        if (token.isCancellationRequested) break;
        progress.report({
          message: vscode.workspace.asRelativePath(entry.uri),
          increment: 100 / Math.max(1, entries.length),
        });
        await vscode.workspace.openTextDocument(entry.uri);
        const diagnostics = await diagnosticsFor(entry.uri, token);
        errors += diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length;
        warnings += diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Warning).length;
      }
      return { files: entries.length, errors, warnings };
    },
  );
  const summary = `Cairn: ${result.files} pipeline file(s) checked: ${result.errors} error(s), ${result.warnings} warning(s).`;
  log.info(summary);
  if (result.errors + result.warnings > 0) {
    void vscode.window.showWarningMessage(summary, 'Show Problems').then((c) => {
      if (c) void vscode.commands.executeCommand('workbench.actions.view.problems');
    });
  } else void vscode.window.showInformationMessage(summary);
  return result;
}

/**
 * The document's diagnostics once the language server has published them: the first change event for it, or what is
 * there already, or (a valid file the server has not reported yet) what is there after a bounded wait.
 */
function diagnosticsFor(uri: vscode.Uri, token: vscode.CancellationToken): Promise<readonly vscode.Diagnostic[]> {
  const now = vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'cairn');
  if (now.length > 0) return Promise.resolve(now);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sub.dispose();
      cancel.dispose();
      resolve(vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'cairn'));
    };
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString())) done();
    });
    const cancel = token.onCancellationRequested(done);
    // A clean file may publish an empty list that changes nothing; do not wait for it forever.
    const timer = setTimeout(done, 3000);
  });
}
