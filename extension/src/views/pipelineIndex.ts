import * as vscode from 'vscode';
import { outlinePipeline, type PipelineOutline } from '../codeLens/pipelineOutline.js';

export interface PipelineEntry {
  uri: vscode.Uri;
  outline: PipelineOutline;
  /** Last modification of the file on disk, epoch ms. */
  mtime: number;
}

export const pipelineGlob = '**/{cairn,*.cairn}.{yaml,yml}';
const exclude = '{**/node_modules/**,**/.cairn/**,**/.git/**}';

/**
 * The workspace's pipeline files, outlined with the protocol's parser, cached per file and refreshed by a file watcher.
 * Used by the trees, the commands' pickers and the walkthrough.
 */
export class PipelineIndex implements vscode.Disposable {
  private entries: Map<string, PipelineEntry> | undefined;
  private loading: Promise<Map<string, PipelineEntry>> | undefined;
  private readonly watcher: vscode.FileSystemWatcher;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor() {
    this.watcher = vscode.workspace.createFileSystemWatcher(pipelineGlob);
    const update = (uri: vscode.Uri) => {
      if (!this.entries) return;
      void this.read(uri).then((entry) => {
        if (!this.entries) return;
        if (entry) this.entries.set(uri.toString(), entry);
        else this.entries.delete(uri.toString());
        this.changed.fire();
      });
    };
    this.watcher.onDidCreate(update);
    this.watcher.onDidChange(update);
    this.watcher.onDidDelete((uri) => {
      this.entries?.delete(uri.toString());
      this.changed.fire();
    });
  }

  async all(): Promise<PipelineEntry[]> {
    const map = this.entries ?? (await (this.loading ??= this.scan()));
    return [...map.values()].sort((a, b) => a.uri.fsPath.localeCompare(b.uri.fsPath));
  }

  async byName(name: string): Promise<PipelineEntry | undefined> {
    return (await this.all()).find((e) => e.outline.name === name);
  }

  async byUri(uri: vscode.Uri): Promise<PipelineEntry | undefined> {
    const found = (await this.all()).find((e) => e.uri.toString() === uri.toString());
    return found ?? (await this.read(uri));
  }

  /** Rescan now (the "Refresh" button). */
  async rescan(): Promise<void> {
    this.entries = undefined;
    this.loading = undefined;
    await this.all();
    this.changed.fire();
  }

  private async scan(): Promise<Map<string, PipelineEntry>> {
    const uris = await vscode.workspace.findFiles(pipelineGlob, exclude, 500);
    const map = new Map<string, PipelineEntry>();
    for (const entry of await Promise.all(uris.map((u) => this.read(u))))
      if (entry) map.set(entry.uri.toString(), entry);
    this.entries = map;
    this.loading = undefined;
    return map;
  }

  private async read(uri: vscode.Uri): Promise<PipelineEntry | undefined> {
    try {
      const [bytes, stat] = await Promise.all([vscode.workspace.fs.readFile(uri), vscode.workspace.fs.stat(uri)]);
      const text = new TextDecoder().decode(bytes);
      return { uri, outline: outlinePipeline(uri.fsPath, text), mtime: stat.mtime };
    } catch {
      // Deleted between the event and the read, or unreadable: it is simply not a pipeline we can show.
      return undefined;
    }
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
