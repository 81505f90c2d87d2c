import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { CairnApi } from '../../../extension/src/extension.js';
import type { CairnLanguageServer } from '../../../extension/src/languageClient.js';

const extensionId = 'cairn-dev.cairn';

/** Resolves with the document's diagnostics once `test` accepts them (event-driven: no polling, no sleeps). */
function diagnosticsWhere(
  uri: vscode.Uri,
  test: (d: readonly vscode.Diagnostic[]) => boolean,
  what: string,
): Promise<readonly vscode.Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const now = vscode.languages.getDiagnostics(uri);
      if (!test(now)) return false;
      resolve(now);
      return true;
    };
    if (check()) return;
    const timer = setTimeout(() => {
      sub.dispose();
      reject(
        new Error(
          `timed out waiting for ${what}; have ${JSON.stringify(vscode.languages.getDiagnostics(uri).map((d) => d.message))}`,
        ),
      );
    }, 30_000);
    const sub = vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.toString() === uri.toString()) && check()) {
        clearTimeout(timer);
        sub.dispose();
      }
    });
  });
}

function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

/** Declares the suite with mocha's tdd globals (set by index.ts before this runs). */
export function defineCairnSuite(): void {
  suite('Cairn in a real VS Code', () => {
    let pipeline: vscode.Uri;
    let server: CairnLanguageServer;

    suiteSetup(async () => {
      const ext = vscode.extensions.getExtension<CairnApi>(extensionId);
      assert.ok(ext, `extension ${extensionId} is installed`);
      server = (await ext.activate()).languageServer;
      const folder = vscode.workspace.workspaceFolders?.[0];
      assert.ok(folder, 'a workspace folder is open');
      pipeline = vscode.Uri.joinPath(folder.uri, 'cairn.yaml');
    });

    test('the extension activates and registers its commands', async () => {
      assert.equal(vscode.extensions.getExtension(extensionId)?.isActive, true);
      const commands = await vscode.commands.getCommands(true);
      assert.ok(commands.includes('cairn.showServerLog') && commands.includes('cairn.restartServer'));
    });

    test('the seeded pipeline error arrives through vscode.languages.getDiagnostics', async () => {
      const doc = await vscode.workspace.openTextDocument(pipeline);
      assert.equal(doc.languageId, 'cairn-pipeline');
      await vscode.window.showTextDocument(doc);
      const found = await diagnosticsWhere(
        pipeline,
        (ds) => ds.some((d) => codeOf(d) === 'unknown-key'),
        'the unknown-key diagnostic',
      );
      const d = found.find((x) => codeOf(x) === 'unknown-key');
      assert.equal(d?.source, 'cairn');
      assert.equal(d?.range.start.line, 12);
    });

    test('completion inside ${params.} offers the pipeline params', async () => {
      const doc = await vscode.workspace.openTextDocument(pipeline);
      const editor = await vscode.window.showTextDocument(doc);
      const line = doc.lineAt(8);
      const at = new vscode.Position(8, line.text.length);
      await editor.edit((b) => b.insert(at, ' ${params.'));
      try {
        const list = await vscode.commands.executeCommand<vscode.CompletionList>(
          'vscode.executeCompletionItemProvider',
          pipeline,
          at.translate(0, ' ${params.'.length),
        );
        // Word-based suggestions (kind Text) would also offer `lr`: only the server's items count.
        const labels = list.items
          .filter((i) => i.kind !== vscode.CompletionItemKind.Text)
          .map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
        assert.ok(labels.includes('lr'), `Cairn completion labels: ${labels.join(', ')}`);
      } finally {
        await vscode.commands.executeCommand('undo');
      }
    });

    test('Cairn: Restart Language Server brings diagnostics back from a fresh server', async () => {
      const doc = await vscode.workspace.openTextDocument(pipeline);
      await vscode.window.showTextDocument(doc);
      await diagnosticsWhere(
        pipeline,
        (ds) => ds.some((d) => codeOf(d) === 'unknown-key'),
        'the unknown-key diagnostic',
      );
      const before = server.languageClient;
      assert.ok(before, 'a running client');
      assert.ok(
        before.diagnostics?.get(pipeline)?.some((d) => codeOf(d) === 'unknown-key'),
        'the running client holds the diagnostic',
      );
      await vscode.commands.executeCommand('cairn.restartServer');
      // Stopping the client clears its diagnostics (its collection is gone, not merely emptied for a moment, which
      // onDidChangeDiagnostics, debounced, may never show); the new server re-publishes them for the open document.
      const after = server.languageClient;
      assert.ok(after && after !== before, 'a fresh client (and server) after the restart');
      assert.equal(before.diagnostics, undefined, "the old server's diagnostics are cleared");
      await diagnosticsWhere(
        pipeline,
        () => after.diagnostics?.get(pipeline)?.some((d) => codeOf(d) === 'unknown-key') === true,
        'diagnostics from the restarted server',
      );
    });

    test('the quick fix for the seeded error removes it', async () => {
      const doc = await vscode.workspace.openTextDocument(pipeline);
      await vscode.window.showTextDocument(doc);
      const found = await diagnosticsWhere(
        pipeline,
        (ds) => ds.some((d) => codeOf(d) === 'unknown-key'),
        'the unknown-key diagnostic',
      );
      const d = found.find((x) => codeOf(x) === 'unknown-key');
      assert.ok(d);
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        pipeline,
        d.range,
        vscode.CodeActionKind.QuickFix.value,
      );
      const fix = actions.find((a) => a.isPreferred && a.edit);
      assert.ok(fix?.edit, `a preferred quick fix; got ${actions.map((a) => a.title).join(', ')}`);
      assert.ok(await vscode.workspace.applyEdit(fix.edit));
      await diagnosticsWhere(
        pipeline,
        (ds) => !ds.some((x) => codeOf(x) === 'unknown-key'),
        'the diagnostic to go away',
      );
    });
  });
}
