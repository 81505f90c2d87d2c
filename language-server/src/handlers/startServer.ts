import {
  defaultLanguageServerSettings,
  type CairnDiagnostic,
  languageServerInitOptionsSchema,
  languageServerSettingsSection,
  parseLanguageServerSettings,
  TrackedMetricsNotification,
  type LanguageServerSettings,
} from '@cairn/protocol';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  FileChangeType,
  LSPErrorCodes,
  NotificationType,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type InitializeResult,
  type TextDocumentPositionParams,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { LanguageService } from '../services/types.js';
import {
  makeFileResolver,
  toCodeActions,
  toCompletionItem,
  toDiagnostic,
  toDocumentSymbols,
  toLocations,
  toWorkspaceEdit,
} from './convert.js';
import { bindLanguage, type BoundLanguage, type DocRef, type ServiceErrorReporter } from './languages.js';
import type { LanguageId } from './languages.js';
import { isPipelineFile, uriToPath, Workspace } from './workspace.js';

/** The services the server dispatches to; either may be missing (its files are then plain text to the server). */
export interface ServerServices {
  pipeline?: LanguageService<unknown>;
  modelCard?: LanguageService<unknown>;
  workspaceConfig?: LanguageService<unknown>;
}

const trackedMetricsType = new NotificationType<unknown>(TrackedMetricsNotification.method);

/**
 * Wires the LSP connection to the language services. Handlers own the connection and only delegate: documents are
 * synced incrementally, validated per document after a debounce, and every service result is converted from offsets
 * to LSP ranges here, at the edge. A throwing service is logged once per document version and answered with nothing.
 */
export function startServer(connection: Connection, services: ServerServices): void {
  const documents = new TextDocuments(TextDocument);
  let settings: LanguageServerSettings = defaultLanguageServerSettings;
  let canPullConfiguration = false;
  let canRegisterConfiguration = false;

  /** Document key → the text whose failure was already logged (one log line per document version). */
  const loggedFailures = new Map<string, string>();
  const report: ServiceErrorReporter = (language, operation, doc, error) => {
    if (loggedFailures.get(doc.key) === doc.text) return;
    loggedFailures.set(doc.key, doc.text);
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    connection.console.error(
      `The ${language} service failed (${operation}) on ${doc.file}: ${detail}\n` +
        'The server keeps running; results for this document are incomplete until it changes. Please report this with the file.',
    );
  };
  const bind = (id: LanguageId, service: LanguageService<unknown> | undefined): BoundLanguage | undefined =>
    service === undefined ? undefined : bindLanguage(id, service, report);
  const workspace = new Workspace(documents, {
    pipeline: bind('pipeline', services.pipeline),
    modelCard: bind('modelCard', services.modelCard),
    workspaceConfig: bind('workspaceConfig', services.workspaceConfig),
  });

  // ---- validation: debounced per document, stale results dropped by version ----
  const timers = new Map<string, NodeJS.Timeout>();
  /** Open document URI → files it depends on (absolute paths), from its last validation. */
  const dependenciesOf = new Map<string, Set<string>>();
  /** URIs that currently have published (non-empty) diagnostics, so a file that stops being ours gets cleared. */
  const published = new Set<string>();
  const seen = new Set<string>();
  /** The findings of each document's last validation, reused by code actions while the version is unchanged. */
  const findings = new Map<string, { version: number; found: CairnDiagnostic[] }>();

  function schedule(uri: string, delayMs = settings.validation.debounceMs): void {
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        validate(uri);
      }, delayMs),
    );
  }

  /** Re-checks the open documents that depend on `file` (and those a pipeline edit turns into or out of cards). */
  function scheduleDependents(file: string, except?: string): void {
    for (const [uri, deps] of dependenciesOf) if (uri !== except && deps.has(file)) schedule(uri);
  }

  function scheduleFiles(files: string[]): void {
    for (const file of files) {
      const doc = workspace.openDocument(file);
      if (doc) schedule(doc.uri);
    }
  }

  function validate(uri: string): void {
    try {
      const doc = documents.get(uri);
      if (!doc) return;
      const version = doc.version;
      const language = workspace.languageOf(doc);
      if (!language) {
        dependenciesOf.delete(uri);
        findings.delete(uri);
        if (published.delete(uri)) void connection.sendDiagnostics({ uri, version, diagnostics: [] });
        return;
      }
      const ref = workspace.docRef(doc);
      const host = workspace.host();
      const found = language.diagnostics(ref, host);
      const dependencies = language.dependencies(ref, host);
      dependenciesOf.set(uri, new Set(dependencies));
      if (language.id === 'pipeline') scheduleFiles(workspace.reindexPipeline(ref.file, dependencies));
      if (documents.get(uri)?.version !== version) return; // edited meanwhile: a newer validation is queued
      findings.set(uri, { version, found });
      // A clean file needs no positions: the line index (a pass over the whole text) is built only to convert some.
      const diagnostics = found.length === 0 ? [] : toDiagnostics(found, doc, ref.file);
      if (diagnostics.length > 0) published.add(uri);
      else published.delete(uri);
      void connection.sendDiagnostics({ uri, version, diagnostics });
    } catch (error) {
      logHandlerFailure('validation', uri, error);
    }
  }

  function toDiagnostics(found: CairnDiagnostic[], doc: TextDocument, file: string) {
    const lines = workspace.lineIndex(doc);
    const files = makeFileResolver(
      (f) => workspace.uriOf(f),
      (f) => workspace.readText(f),
      { file, index: lines },
    );
    return found.map((d) => toDiagnostic(d, lines, files, doc.uri));
  }

  function logHandlerFailure(what: string, uri: string, error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    connection.console.error(`Cairn language server: ${what} failed for ${uri}: ${detail}`);
  }

  documents.onDidOpen((e) => {
    workspace.opened(e.document);
  });
  documents.onDidChangeContent((e) => {
    const uri = e.document.uri;
    // The first content of a document is checked at once; edits wait for the debounce.
    const first = !seen.has(uri);
    seen.add(uri);
    schedule(uri, first ? 0 : settings.validation.debounceMs);
    scheduleDependents(uriToPath(uri), uri);
  });
  documents.onDidClose((e) => {
    const uri = e.document.uri;
    const file = uriToPath(uri);
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.delete(uri);
    seen.delete(uri);
    loggedFailures.delete(uri);
    dependenciesOf.delete(uri);
    findings.delete(uri);
    workspace.closed(uri);
    if (published.delete(uri)) void connection.sendDiagnostics({ uri, diagnostics: [] });
    // The file on disk replaces the closed buffer for everything that depends on it.
    if (isPipelineFile(file)) scheduleFiles(workspace.reindexPipeline(file));
    scheduleDependents(file);
  });

  connection.onDidChangeWatchedFiles((params) => {
    for (const change of params.changes) {
      const file = uriToPath(change.uri);
      if (workspace.openDocument(file) && change.type !== FileChangeType.Deleted) continue; // the open buffer wins
      if (isPipelineFile(file)) scheduleFiles(workspace.reindexPipeline(file));
      scheduleDependents(file);
    }
  });

  connection.onNotification(trackedMetricsType, (raw) => {
    const parsed = TrackedMetricsNotification.params.safeParse(raw);
    if (!parsed.success) {
      connection.console.warn(
        `Ignored ${TrackedMetricsNotification.method} with invalid params: ${parsed.error.message}`,
      );
      return;
    }
    workspace.setTrackedMetrics(parsed.data.model, parsed.data.metrics);
    for (const doc of documents.all()) if (workspace.languageIdOf(doc) === 'modelCard') schedule(doc.uri);
  });

  // ---- settings ----
  async function pullSettings(): Promise<void> {
    try {
      const section: unknown = await connection.workspace.getConfiguration(languageServerSettingsSection);
      settings = parseLanguageServerSettings(section);
    } catch (error) {
      logHandlerFailure('reading settings', languageServerSettingsSection, error);
    }
  }

  connection.onDidChangeConfiguration((params) => {
    if (canPullConfiguration) {
      void pullSettings();
      return;
    }
    const pushed = (params.settings as Record<string, unknown> | null | undefined)?.[languageServerSettingsSection];
    if (pushed !== undefined) settings = parseLanguageServerSettings(pushed);
  });

  connection.onInitialize((params): InitializeResult => {
    const options = languageServerInitOptionsSchema.safeParse(params.initializationOptions ?? {});
    if (options.success) settings = parseLanguageServerSettings(options.data.settings);
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    canRegisterConfiguration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;
    const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
    workspace.folders = folders.filter((u) => u.startsWith('file:')).map(uriToPath);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        completionProvider: { triggerCharacters: ['.', '{', ':', '$'] },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'cairn-language-server' },
    };
  });

  connection.onInitialized(() => {
    if (canRegisterConfiguration)
      void connection.client.register(DidChangeConfigurationNotification.type, {
        section: languageServerSettingsSection,
      });
    if (canPullConfiguration) void pullSettings();
    try {
      workspace.scanFolders();
    } catch (error) {
      logHandlerFailure('scanning the workspace', workspace.folders.join(', '), error);
    }
    // Markdown files the scan found to be model cards get their diagnostics now.
    for (const doc of documents.all()) if (workspace.languageIdOf(doc) === 'modelCard') schedule(doc.uri, 0);
  });

  // ---- features: each converts a position to an offset, asks the service, converts the answer back ----
  interface Target {
    doc: TextDocument;
    ref: DocRef;
    language: BoundLanguage;
    offset: number;
  }

  function target(params: TextDocumentPositionParams): Target | undefined {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return undefined;
    const language = workspace.languageOf(doc);
    if (!language) return undefined;
    return { doc, ref: workspace.docRef(doc), language, offset: workspace.lineIndex(doc).offsetAt(params.position) };
  }

  function files(t: Target) {
    return makeFileResolver(
      (f) => workspace.uriOf(f),
      (f) => workspace.readText(f),
      { file: t.ref.file, index: workspace.lineIndex(t.doc) },
    );
  }

  function guarded<T>(what: string, uri: string, fallback: T, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ResponseError) throw error;
      logHandlerFailure(what, uri, error);
      return fallback;
    }
  }

  connection.onCompletion((params) =>
    guarded('completion', params.textDocument.uri, [], () => {
      const t = target(params);
      if (!t) return [];
      const lines = workspace.lineIndex(t.doc);
      return t.language.completions(t.ref, t.offset, workspace.host()).map((c) => toCompletionItem(c, lines));
    }),
  );

  connection.onHover((params) =>
    guarded('hover', params.textDocument.uri, null, () => {
      const t = target(params);
      if (!t) return null;
      const hover = t.language.hover(t.ref, t.offset, workspace.host());
      if (!hover) return null;
      return {
        contents: { kind: 'markdown', value: hover.contents },
        range: workspace.lineIndex(t.doc).rangeOf(hover.span),
      };
    }),
  );

  connection.onDefinition((params) =>
    guarded('definition', params.textDocument.uri, [], () => {
      const t = target(params);
      if (!t) return [];
      return toLocations(t.language.definition(t.ref, t.offset, workspace.host()), files(t));
    }),
  );

  connection.onReferences((params) =>
    guarded('references', params.textDocument.uri, [], () => {
      const t = target(params);
      if (!t) return [];
      return toLocations(
        t.language.references(t.ref, t.offset, workspace.host(), params.context.includeDeclaration),
        files(t),
      );
    }),
  );

  connection.onPrepareRename((params) =>
    guarded('prepareRename', params.textDocument.uri, null, () => {
      const t = target(params);
      if (!t) return null;
      const span = t.language.prepareRename(t.ref, t.offset);
      return span ? workspace.lineIndex(t.doc).rangeOf(span) : null;
    }),
  );

  connection.onRenameRequest((params) =>
    guarded('rename', params.textDocument.uri, null, () => {
      const t = target(params);
      if (!t) return null;
      const result = t.language.rename(t.ref, t.offset, params.newName, workspace.host());
      if ('error' in result) throw new ResponseError(LSPErrorCodes.RequestFailed, result.error);
      return toWorkspaceEdit(result.edits, files(t));
    }),
  );

  connection.onDocumentSymbol((params) =>
    guarded('documentSymbol', params.textDocument.uri, [], () => {
      const doc = documents.get(params.textDocument.uri);
      const language = doc && workspace.languageOf(doc);
      if (!doc || !language) return [];
      return toDocumentSymbols(language.symbols(workspace.docRef(doc)), workspace.lineIndex(doc));
    }),
  );

  connection.onCodeAction((params) =>
    guarded('codeAction', params.textDocument.uri, [], () => {
      const only = params.context.only;
      // Our actions are `quickfix`: answer when the client asks for all kinds, `quickfix`, or a parent of it.
      if (
        only &&
        !only.some(
          (k) =>
            k === CodeActionKind.Empty || k === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(`${k}.`),
        )
      )
        return [];
      const doc = documents.get(params.textDocument.uri);
      const language = doc && workspace.languageOf(doc);
      if (!doc || !language) return [];
      const lines = workspace.lineIndex(doc);
      // The findings of the current version only, so fixes always match the text they edit: those of the last
      // validation when it saw this version, else computed now (parse cached).
      const last = findings.get(doc.uri);
      const found =
        last?.version === doc.version ? last.found : language.diagnostics(workspace.docRef(doc), workspace.host());
      return toCodeActions(found, lines, doc.uri, lines.spanOf(params.range));
    }),
  );

  documents.listen(connection);
  connection.listen();
}
