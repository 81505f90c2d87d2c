import type { CairnDiagnostic, Span } from '@cairn/protocol';

/**
 * The contract between the LSP handlers (language-server/src/handlers/) and the pure language services
 * (language-server/src/services/pipeline/, services/modelCard/). Services never touch the connection or the file
 * system directly: everything outside the document comes through `WorkspaceHost`. All positions are offsets (Span);
 * handlers convert to LSP ranges at the edge.
 */

/** A place in some file of the workspace. */
export interface FileSpan {
  /** Absolute file-system path. */
  file: string;
  span: Span;
}

/** What a service may ask about the rest of the workspace. Paths are absolute. */
export interface WorkspaceHost {
  fileExists(file: string): boolean;
  /** Text of a file: the open editor's content when open, else from disk; undefined when it does not exist. */
  readText(file: string): string | undefined;
  /** Pipelines of the workspace that name `file` as their model card (cross-file checks). */
  pipelinesNamingCard(file: string): string[];
  /** Metrics tracked for a model by the runtime, when the runtime has told the server (cairn/trackedMetrics). */
  trackedMetrics?(model: string): Record<string, number> | undefined;
  /** The target text of a symbolic link; undefined when `file` is not a link or does not exist (confinement). */
  readLink?(file: string): string | undefined;
  /** The workspace folder `file` lies in (the root paths are confined to); undefined when it is in none. */
  workspaceFolderOf?(file: string): string | undefined;
}

export type CompletionKind =
  | 'property'
  | 'value'
  | 'step'
  | 'param'
  | 'data'
  | 'output'
  | 'builtin'
  | 'metric'
  | 'snippet'
  | 'section'
  | 'license'
  | 'file';

export interface Completion {
  label: string;
  kind: CompletionKind;
  /** Short text after the label (type, default). */
  detail?: string;
  /** Markdown. */
  documentation?: string;
  /** Text to insert; a snippet with ${1:placeholders} when `snippet` is true. */
  insertText?: string;
  snippet?: boolean;
  /** The span the completion replaces (defaults to the word at the cursor). */
  replace?: Span;
  sortText?: string;
  filterText?: string;
}

export interface Hover {
  /** Markdown. */
  contents: string;
  span: Span;
}

export interface OutlineSymbol {
  name: string;
  detail?: string;
  kind: 'module' | 'namespace' | 'function' | 'variable' | 'property' | 'field' | 'string' | 'file' | 'event';
  span: Span;
  selectionSpan: Span;
  children: OutlineSymbol[];
}

export interface FileEdit {
  file: string;
  span: Span;
  newText: string;
}

export type RenameResult = { edits: FileEdit[] } | { error: string };

/** One language: pipelines or model cards. `P` is its parsed-document type (kept per open document by the handlers). */
export interface LanguageService<P> {
  /**
   * Parses `text`; `previous` (the last parse of the same document) lets the service reuse unchanged parts. `owned`:
   * nothing else holds `previous` and it is dropped after this call, so the service may change it in place.
   */
  parse(file: string, text: string, previous?: P, owned?: boolean): P;
  /** Every finding: syntax, schema, semantics, cross-file. Fixes ride on each diagnostic (`fixes`). */
  diagnostics(doc: P, host: WorkspaceHost): CairnDiagnostic[];
  completions(doc: P, offset: number, host: WorkspaceHost): Completion[];
  hover(doc: P, offset: number, host: WorkspaceHost): Hover | undefined;
  definition(doc: P, offset: number, host: WorkspaceHost): FileSpan[];
  references(doc: P, offset: number, host: WorkspaceHost, includeDeclaration: boolean): FileSpan[];
  /** The span of the name that would be renamed at `offset`, or undefined when nothing there can be renamed. */
  prepareRename(doc: P, offset: number): Span | undefined;
  rename(doc: P, offset: number, newName: string, host: WorkspaceHost): RenameResult;
  symbols(doc: P): OutlineSymbol[];
  /** Files this document depends on (data files, a linked card or pipeline): re-check it when one changes. */
  dependencies(doc: P, host: WorkspaceHost): string[];
}
