import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CompletionRequest,
  ConfigurationRequest,
  createConnection,
  createProtocolConnection,
  DefinitionRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentSymbolRequest,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  NotificationType,
  PrepareRenameRequest,
  PublishDiagnosticsNotification,
  ReferencesRequest,
  RegistrationRequest,
  RenameRequest,
  ShutdownRequest,
  type CodeAction,
  type CompletionItem,
  type CompletionList,
  type Diagnostic,
  type DocumentSymbol,
  type FileChangeType,
  type Hover,
  type Location,
  type LogMessageParams,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type Range,
  type SymbolInformation,
  type TextDocumentContentChangeEvent,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { startServer, type ServerServices } from '../../../language-server/src/handlers/startServer.js';

/**
 * An LSP client and the real Cairn server in one process, over two in-memory streams: every test goes through the
 * protocol exactly as VS Code does (JSON-RPC framing included), with no child process and no sleeps.
 */
export class LspSession {
  readonly logs: LogMessageParams[] = [];
  private readonly latest = new Map<string, PublishDiagnosticsParams>();
  private readonly waiters: Array<{
    uri: string;
    test: (p: PublishDiagnosticsParams) => boolean;
    resolve: (p: PublishDiagnosticsParams) => void;
  }> = [];
  private readonly versions = new Map<string, number>();
  /** Every publishDiagnostics received, in order (tests about staleness and debouncing read it). */
  readonly published: PublishDiagnosticsParams[] = [];

  private constructor(readonly client: ProtocolConnection) {
    client.onNotification(PublishDiagnosticsNotification.type, (p) => {
      this.published.push(p);
      this.latest.set(p.uri, p);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i];
        if (w && w.uri === p.uri && w.test(p)) {
          this.waiters.splice(i, 1);
          w.resolve(p);
        }
      }
    });
    client.onNotification(LogMessageNotification.type, (p) => {
      this.logs.push(p);
    });
  }

  /** Sections the server pulled with workspace/configuration (when started with `configuration`). */
  readonly configurationRequests: Array<string | undefined> = [];

  static async start(
    services: ServerServices,
    options: { debounceMs?: number; folders?: string[]; configuration?: (section: string | undefined) => unknown } = {},
  ): Promise<LspSession> {
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    startServer(createConnection(toServer, toClient), services);
    const client = createProtocolConnection(toClient, toServer);
    const session = new LspSession(client);
    const configuration = options.configuration;
    if (configuration) {
      client.onRequest(ConfigurationRequest.type, (params) =>
        params.items.map((item) => {
          session.configurationRequests.push(item.section);
          return configuration(item.section);
        }),
      );
      client.onRequest(RegistrationRequest.type, () => undefined);
    }
    client.listen();
    const folders = options.folders ?? [];
    await client.sendRequest(InitializeRequest.type, {
      processId: null,
      rootUri: folders[0] === undefined ? null : pathToFileURL(folders[0]).href,
      workspaceFolders: folders.map((f) => ({ uri: pathToFileURL(f).href, name: f })),
      capabilities: configuration
        ? { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } }
        : {},
      initializationOptions: { settings: { validation: { debounceMs: options.debounceMs ?? 0 } } },
    });
    await client.sendNotification(InitializedNotification.type, {});
    return session;
  }

  async open(uri: string, text: string, languageId = 'plaintext'): Promise<PublishDiagnosticsParams> {
    this.versions.set(uri, 1);
    this.latest.delete(uri); // a reopened URI must not resolve with the previous document's diagnostics
    const next = this.nextDiagnostics(uri, 1);
    await this.client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
    return next;
  }

  /** Opens without waiting for diagnostics (for files the server does not check). */
  async openQuietly(uri: string, text: string, languageId = 'plaintext'): Promise<void> {
    this.versions.set(uri, 1);
    await this.client.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId, version: 1, text },
    });
  }

  /** Sends one didChange (full text or incremental edits); resolves with the diagnostics of that version. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<PublishDiagnosticsParams> {
    const version = this.sendChange(uri, changes);
    return this.nextDiagnostics(uri, await version);
  }

  async sendChange(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.client.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: changes,
    });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.client.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async filesChanged(changes: Array<{ uri: string; type: FileChangeType }>): Promise<void> {
    await this.client.sendNotification(DidChangeWatchedFilesNotification.type, { changes });
  }

  async configurationChanged(): Promise<void> {
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  async notify(method: string, params: unknown): Promise<void> {
    await this.client.sendNotification(new NotificationType<unknown>(method), params);
  }

  /** Resolves with the first diagnostics for `uri` of at least `version` (already received ones count). */
  nextDiagnostics(uri: string, version: number): Promise<PublishDiagnosticsParams> {
    return this.waitForDiagnostics(uri, (p) => (p.version ?? 0) >= version);
  }

  waitForDiagnostics(uri: string, test: (p: PublishDiagnosticsParams) => boolean): Promise<PublishDiagnosticsParams> {
    const have = this.latest.get(uri);
    if (have && test(have)) return Promise.resolve(have);
    return new Promise((resolve) => this.waiters.push({ uri, test, resolve }));
  }

  diagnosticsOf(uri: string): Diagnostic[] {
    return this.latest.get(uri)?.diagnostics ?? [];
  }

  async completion(uri: string, position: Position): Promise<CompletionItem[]> {
    const r: CompletionItem[] | CompletionList | null = await this.client.sendRequest(CompletionRequest.type, {
      textDocument: { uri },
      position,
    });
    if (r === null) return [];
    return Array.isArray(r) ? r : r.items;
  }

  hover(uri: string, position: Position): Promise<Hover | null> {
    return this.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
  }

  async definition(uri: string, position: Position): Promise<Location[]> {
    const r = await this.client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position });
    if (r === null) return [];
    return (Array.isArray(r) ? r : [r]).map((l) =>
      'targetUri' in l ? { uri: l.targetUri, range: l.targetSelectionRange } : l,
    );
  }

  async references(uri: string, position: Position, includeDeclaration = true): Promise<Location[]> {
    return (
      (await this.client.sendRequest(ReferencesRequest.type, {
        textDocument: { uri },
        position,
        context: { includeDeclaration },
      })) ?? []
    );
  }

  async prepareRename(uri: string, position: Position): Promise<Range | null> {
    const r = await this.client.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position });
    if (r === null) return null;
    if ('range' in r) return r.range;
    if ('start' in r) return r;
    return null;
  }

  rename(uri: string, position: Position, newName: string): Promise<WorkspaceEdit | null> {
    return this.client.sendRequest(RenameRequest.type, { textDocument: { uri }, position, newName });
  }

  async symbols(uri: string): Promise<DocumentSymbol[]> {
    const r: DocumentSymbol[] | SymbolInformation[] | null = await this.client.sendRequest(DocumentSymbolRequest.type, {
      textDocument: { uri },
    });
    return (r ?? []).filter((s): s is DocumentSymbol => 'selectionRange' in s);
  }

  async codeActions(uri: string, range: Range, diagnostics: Diagnostic[] = []): Promise<CodeAction[]> {
    const r = await this.client.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range,
      context: { diagnostics },
    });
    return (r ?? []).filter((a): a is CodeAction => 'title' in a && !('command' in a && typeof a.command === 'string'));
  }

  async dispose(): Promise<void> {
    await this.client.sendRequest(ShutdownRequest.type);
    this.client.dispose();
  }
}

/** Applies LSP text edits to a text (edits must not overlap), as the client would. */
export function applyEdits(text: string, edits: Array<{ range: Range; newText: string }>): string {
  const offsetAt = (p: Position): number => {
    let line = 0;
    let i = 0;
    while (line < p.line && i < text.length) {
      const c = text[i];
      i++;
      if (c === '\n' || (c === '\r' && text[i] !== '\n')) line++;
    }
    return Math.min(i + p.character, text.length);
  };
  const sorted = edits
    .map((e) => ({ start: offsetAt(e.range.start), end: offsetAt(e.range.end), newText: e.newText }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.newText + out.slice(e.end);
  return out;
}

/** Splits a test text with a `|` cursor marker into the text and the cursor position. */
export function cursor(marked: string): { text: string; position: Position } {
  const at = marked.indexOf('|');
  if (at < 0) throw new Error('test text has no | cursor');
  const before = marked.slice(0, at);
  const lines = before.split('\n');
  return {
    text: before + marked.slice(at + 1),
    position: { line: lines.length - 1, character: (lines[lines.length - 1] ?? '').length },
  };
}

export function fileUri(file: string): string {
  return pathToFileURL(file).href;
}

/** A diagnostic's message as text (LSP 3.18 allows Markdown content there). */
export function messageOf(d: Diagnostic): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}
