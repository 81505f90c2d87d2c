import * as vscode from 'vscode';
import {
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { languageServerSettingsSection } from '@cairn/protocol';
import { workspaceConfigFile } from '@cairn/protocol/config.js';
import type { ServerStatusItem } from './statusItem.js';

/** Files the server is told about; it decides itself which Markdown files are model cards (those a pipeline names). */
export const cairnDocumentSelector = [
  { language: 'cairn-pipeline' },
  { language: 'cairn-model-card' },
  { scheme: 'file', pattern: '**/{cairn,*.cairn}.{yaml,yml}' },
  { scheme: 'file', pattern: '**/{MODEL_CARD,*.modelcard}.md' },
  // The workspace configuration (protocol/src/config.ts), checked with the schema the runtime reads it with.
  { scheme: 'file', pattern: `**/${workspaceConfigFile}` },
  { scheme: 'file', language: 'markdown' },
];

/**
 * Owns the language client and its restarts. Two disposal lifetimes: this object lives as long as the extension; each
 * started client (and what it registered) lives until the next restart.
 */
export class CairnLanguageServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientDisposables: vscode.Disposable[] = [];
  /** True while we stop the client ourselves: a stop we did not ask for is an error in the status bar. */
  private stopping = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly status: ServerStatusItem,
  ) {}

  /** The running client, for features other modules add (custom `cairn/*` notifications). */
  get languageClient(): LanguageClient | undefined {
    return this.client;
  }

  async start(): Promise<void> {
    const module = this.context.asAbsolutePath('dist/languageServer.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const watcher = vscode.workspace.createFileSystemWatcher('**/*');
    this.clientDisposables.push(watcher);
    const clientOptions: LanguageClientOptions = {
      documentSelector: cairnDocumentSelector,
      outputChannel: this.log,
      traceOutputChannel: this.log,
      // The server validates with these until it pulls the section itself (workspace/configuration).
      initializationOptions: () => {
        const config = vscode.workspace.getConfiguration(languageServerSettingsSection);
        return { settings: { validation: { debounceMs: config.get<number>('validation.debounceMs') } } };
      },
      synchronize: { fileEvents: watcher },
    };
    const client = new LanguageClient('cairn', 'Cairn Language Server', serverOptions, clientOptions);
    this.client = client;
    this.clientDisposables.push(
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) this.status.set('ready');
        else if (e.newState === State.Starting) this.status.set('starting');
        else if (this.stopping) this.status.set('stopped');
        else {
          // vscode-languageclient gave up restarting a crashing server (or never got it running).
          this.status.set(
            'error',
            'the server stopped unexpectedly; see the log, then run Cairn: Restart Language Server',
          );
          this.log.error('The Cairn language server stopped unexpectedly.');
        }
      }),
    );
    this.status.set('starting');
    try {
      await client.start();
      this.status.set('ready');
      this.log.info('Cairn language server is ready.');
    } catch (error) {
      this.status.set('error', error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  async restart(): Promise<void> {
    this.log.info('Restarting the Cairn language server.');
    await this.stop();
    await this.start();
  }

  private async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.stopping = true;
    try {
      for (const d of this.clientDisposables.splice(0)) d.dispose();
      if (client?.isRunning()) await client.stop(5000);
      else if (client) await client.dispose(5000);
    } finally {
      this.stopping = false;
    }
  }

  dispose(): void {
    void this.stop();
  }
}
