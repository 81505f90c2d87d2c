import * as vscode from 'vscode';
import { DriftRequest, type TitledDriftReport } from '@cairn/protocol';
import { RuntimeClient } from '../runtime/runtimeClient.js';
import type { CairnWebviews } from '../webviews/index.js';
import { checkTrust } from './runLauncher.js';

const dataGlob = '**/*.{csv,jsonl,ndjson}';

/** Reports computed from two files in this session, by id: the drift view asks for them by `reportId`. */
export class DriftReports {
  private readonly reports = new Map<string, TitledDriftReport>();
  private next = 1;

  add(report: Omit<TitledDriftReport, 'id'>): TitledDriftReport {
    const full = { ...report, id: `files-${this.next++}` };
    this.reports.set(full.id, full);
    return full;
  }

  get(id: string | undefined): TitledDriftReport | undefined {
    return id === undefined ? undefined : this.reports.get(id);
  }
}

/**
 * "Show Drift": pick a reference and a current data file, ask the runtime for their drift (`runtime/drift`, the
 * implementation `cairn drift` runs) and open it in the drift view.
 */
export async function runDriftCommand(
  runtime: RuntimeClient,
  webviews: CairnWebviews,
  reports: DriftReports,
  log: vscode.LogOutputChannel,
): Promise<TitledDriftReport | undefined> {
  if (!checkTrust()) return undefined;
  const folder = RuntimeClient.workspaceFolder();
  if (!folder) return undefined;
  const files = await vscode.workspace.findFiles(dataGlob, '{**/node_modules/**,**/.cairn/**}', 2000);
  if (files.length < 2) {
    void vscode.window.showWarningMessage(
      'Cairn: drift compares two data files (CSV or JSON lines); this workspace has fewer than two.',
    );
    return undefined;
  }
  const items = files
    .map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const reference = await vscode.window.showQuickPick(items, {
    title: 'Cairn drift: the reference data (what the model was trained on)',
  });
  if (!reference) return undefined;
  const current = await vscode.window.showQuickPick(
    items.filter((i) => i !== reference),
    { title: 'Cairn drift: the current data (what it sees now)' },
  );
  if (!current) return undefined;
  return showDriftBetween(runtime, webviews, reports, log, reference.uri, current.uri);
}

/** Computes (the runtime's `runtime/drift`) and shows the drift of `current` against `reference` (also used by tests). */
export async function showDriftBetween(
  runtime: RuntimeClient,
  webviews: CairnWebviews,
  reports: DriftReports,
  log: vscode.LogOutputChannel,
  reference: vscode.Uri,
  current: vscode.Uri,
): Promise<TitledDriftReport | undefined> {
  const folder = RuntimeClient.workspaceFolder();
  if (!folder) return undefined;
  const drift = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Cairn: computing drift…', cancellable: true },
    (_p, token) => runtime.request(DriftRequest, { reference: reference.fsPath, current: current.fsPath }, token),
  );
  const title = `${vscode.workspace.asRelativePath(current)} vs ${vscode.workspace.asRelativePath(reference)}`;
  const skipped = drift.features
    .filter((f) => f.method === null)
    .map((f) => `${f.name}${f.skipped ? ` (${f.skipped})` : ''}`);
  if (skipped.length > 0) log.warn(`cairn drift ${title}: not tested: ${skipped.join(', ')}`);
  const report = reports.add({ ...drift, title, createdAt: Date.now(), windows: [] });
  log.info(`cairn drift ${title}: ${report.driftedColumns} of ${report.testedColumns} features drifted.`);
  webviews.showDrift({ reportId: report.id });
  return report;
}
