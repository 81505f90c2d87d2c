import * as vscode from 'vscode';

/**
 * "Open the Recommender Sample": copies the sample shipped with the extension into a folder the user picks (the
 * extension's own folder is read-only in many installs) and opens it.
 */
export async function openRecommenderSample(extensionUri: vscode.Uri): Promise<void> {
  const source = vscode.Uri.joinPath(extensionUri, 'samples', 'recommender');
  try {
    await vscode.workspace.fs.stat(source);
  } catch {
    void vscode.window.showErrorMessage(
      `Cairn: the recommender sample is missing from the extension (${source.fsPath}). Reinstall Cairn, or open your own folder with a cairn.yaml.`,
    );
    return;
  }
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    openLabel: 'Copy the sample here',
    title: 'Cairn: where should the recommender sample go?',
  });
  const parent = picked?.[0];
  if (!parent) return;
  const target = vscode.Uri.joinPath(parent, 'cairn-recommender');
  try {
    await vscode.workspace.fs.stat(target);
    const choice = await vscode.window.showWarningMessage(
      `${target.fsPath} exists already. Open it as it is?`,
      'Open',
      'Cancel',
    );
    if (choice !== 'Open') return;
  } catch {
    await vscode.workspace.fs.copy(source, target, { overwrite: false });
  }
  await vscode.commands.executeCommand('vscode.openFolder', target, { forceNewWindow: false });
}
