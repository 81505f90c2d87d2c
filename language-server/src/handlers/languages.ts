import * as path from 'node:path';
import { LineIndex, type CairnDiagnostic, type Span } from '@cairn/protocol';
import type {
  Completion,
  FileSpan,
  Hover,
  LanguageService,
  OutlineSymbol,
  RenameResult,
  WorkspaceHost,
} from '../services/types.js';

export type LanguageId = 'pipeline' | 'modelCard' | 'workspaceConfig';

/** A document as the handlers see it: an open editor buffer or a file read from disk. */
export interface DocRef {
  /** Cache key: the document URI for open documents, the absolute path for files read from disk. */
  key: string;
  /** Absolute path (or the URI when the document has no file, e.g. untitled:), what the services see. */
  file: string;
  text: string;
}

/** Called when a service throws: the handler logs it (once per document version) and answers with a fallback. */
export type ServiceErrorReporter = (language: LanguageId, operation: string, doc: DocRef, error: unknown) => void;

/**
 * A language service with its parse cache, its document type hidden: handlers never see `P`. The cache keeps the last
 * parse of each document and hands it to the next `parse` as `previous` (services reuse unchanged parts).
 * Every call is guarded: a throwing service yields the fallback, never an exception to the connection.
 */
export interface BoundLanguage {
  readonly id: LanguageId;
  diagnostics(doc: DocRef, host: WorkspaceHost): CairnDiagnostic[];
  completions(doc: DocRef, offset: number, host: WorkspaceHost): Completion[];
  hover(doc: DocRef, offset: number, host: WorkspaceHost): Hover | undefined;
  definition(doc: DocRef, offset: number, host: WorkspaceHost): FileSpan[];
  references(doc: DocRef, offset: number, host: WorkspaceHost, includeDeclaration: boolean): FileSpan[];
  prepareRename(doc: DocRef, offset: number): Span | undefined;
  rename(doc: DocRef, offset: number, newName: string, host: WorkspaceHost): RenameResult;
  symbols(doc: DocRef): OutlineSymbol[];
  dependencies(doc: DocRef, host: WorkspaceHost): string[];
  /**
   * Model cards a pipeline names (Markdown among its dependencies, and `deploy.card` resolved to an absolute path);
   * empty for other languages. `dependencies` saves recomputing them when the caller has them already.
   */
  cardsNamed(doc: DocRef, host: WorkspaceHost, dependencies?: string[]): string[];
  /** The service's own offset↔position index for this text when its parse keeps one (saves building another). */
  lineIndex(doc: DocRef): LineIndex | undefined;
  /** Drops the cached parse of a document (closed, deleted). */
  forget(key: string): void;
}

interface CacheEntry<P> {
  text: string;
  parsed: P;
}

const markdownFile = /\.(md|markdown)$/i;

export function bindLanguage<P>(
  id: LanguageId,
  service: LanguageService<P>,
  report: ServiceErrorReporter,
): BoundLanguage {
  const cache = new Map<string, CacheEntry<P>>();

  function parse(doc: DocRef): P {
    // A document opened in the editor starts from the parse of its file on disk (the start-up scan made one): the
    // same text is not parsed twice, and an edited one re-parses only what differs.
    const entry = cache.get(doc.key) ?? (doc.key !== doc.file ? cache.get(doc.file) : undefined);
    if (entry && entry.text === doc.text) {
      cache.set(doc.key, entry);
      return entry.parsed;
    }
    // The last parse may be changed in place only when this key alone holds it (an open document starts out sharing
    // its file's parse, which the file's own key still needs).
    let holders = 0;
    if (entry) for (const e of cache.values()) if (e === entry) holders++;
    const owned = entry !== undefined && holders === 1 && cache.get(doc.key) === entry;
    const parsed = service.parse(doc.file, doc.text, entry?.parsed, owned);
    cache.set(doc.key, { text: doc.text, parsed });
    return parsed;
  }

  function guard<T>(operation: string, doc: DocRef, fallback: T, fn: (parsed: P) => T): T {
    try {
      return fn(parse(doc));
    } catch (error) {
      report(id, operation, doc, error);
      return fallback;
    }
  }

  function deployCard(parsed: P): string | undefined {
    // Pipelines keep their structure in `value` (ParsedPipeline); read deploy.card without trusting its shape.
    const value = (parsed as { value?: unknown }).value;
    if (typeof value !== 'object' || value === null) return undefined;
    const deploy = (value as { deploy?: unknown }).deploy;
    if (typeof deploy !== 'object' || deploy === null) return undefined;
    const card = (deploy as { card?: unknown }).card;
    return typeof card === 'string' && card.length > 0 ? card : undefined;
  }

  return {
    id,
    diagnostics: (doc, host) => guard('diagnostics', doc, [], (p) => service.diagnostics(p, host)),
    completions: (doc, offset, host) => guard('completion', doc, [], (p) => service.completions(p, offset, host)),
    hover: (doc, offset, host) =>
      guard<Hover | undefined>('hover', doc, undefined, (p) => service.hover(p, offset, host)),
    definition: (doc, offset, host) => guard('definition', doc, [], (p) => service.definition(p, offset, host)),
    references: (doc, offset, host, includeDeclaration) =>
      guard('references', doc, [], (p) => service.references(p, offset, host, includeDeclaration)),
    prepareRename: (doc, offset) =>
      guard<Span | undefined>('prepareRename', doc, undefined, (p) => service.prepareRename(p, offset)),
    rename: (doc, offset, newName, host) =>
      guard<RenameResult>(
        'rename',
        doc,
        { error: 'Rename failed inside the Cairn language server; see its log.' },
        (p) => service.rename(p, offset, newName, host),
      ),
    symbols: (doc) => guard('documentSymbol', doc, [], (p) => service.symbols(p)),
    dependencies: (doc, host) => guard('dependencies', doc, [], (p) => service.dependencies(p, host)),
    cardsNamed: (doc, host, dependencies) => {
      if (id !== 'pipeline') return [];
      return guard('cardsNamed', doc, [], (p) => {
        const cards = new Set((dependencies ?? service.dependencies(p, host)).filter((f) => markdownFile.test(f)));
        const card = deployCard(p);
        if (card !== undefined && markdownFile.test(card)) cards.add(resolveBeside(doc.file, card));
        return [...cards];
      });
    },
    lineIndex: (doc) => {
      const entry = cache.get(doc.key);
      if (!entry || entry.text !== doc.text) return undefined;
      const lines = (entry.parsed as { lines?: unknown }).lines;
      return lines instanceof LineIndex && lines.text === doc.text ? lines : undefined;
    },
    forget: (key) => {
      cache.delete(key);
    },
  };
}

/** Resolves `relative` against the folder of `file` (both absolute file-system paths). */
function resolveBeside(file: string, relative: string): string {
  return path.resolve(path.dirname(file), relative);
}
