import { LineIndex, type CairnDiagnostic, type Span } from '@cairn/protocol';
import {
  CodeActionKind,
  CompletionItemKind,
  DiagnosticTag,
  InsertTextFormat,
  MarkupKind,
  SymbolKind,
  type CodeAction,
  type CompletionItem,
  type Diagnostic,
  type DocumentSymbol,
  type Location,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import type { Completion, CompletionKind, FileEdit, FileSpan, OutlineSymbol } from '../services/types.js';

/** Offsets inside, ranges at the edge: everything here turns service results (offsets) into LSP shapes. */

/** Resolves a file to its URI and line index (open buffer or disk), memoised for one request. */
export interface FileResolver {
  uriOf(file: string): string;
  lineIndexOf(file: string): LineIndex | undefined;
}

export function makeFileResolver(
  uriOf: (file: string) => string,
  readText: (file: string) => string | undefined,
  own?: { file: string; index: LineIndex },
): FileResolver {
  const indexes = new Map<string, LineIndex | undefined>();
  if (own) indexes.set(own.file, own.index);
  return {
    uriOf,
    lineIndexOf(file) {
      if (indexes.has(file)) return indexes.get(file);
      const text = readText(file);
      const index = text === undefined ? undefined : new LineIndex(text);
      indexes.set(file, index);
      return index;
    },
  };
}

export const diagnosticSource = 'cairn';

export function toDiagnostic(
  d: CairnDiagnostic,
  lines: LineIndex,
  files: FileResolver | undefined,
  ownUri: string,
): Diagnostic {
  const diagnostic: Diagnostic = {
    range: lines.rangeOf(d.span),
    severity: d.severity,
    code: d.code,
    source: diagnosticSource,
    message: d.message,
  };
  if (d.tags && d.tags.length > 0)
    diagnostic.tags = d.tags.map((t) => (t === 1 ? DiagnosticTag.Unnecessary : DiagnosticTag.Deprecated));
  if (d.related && d.related.length > 0) {
    const related = [];
    for (const r of d.related) {
      const index = r.file === undefined ? lines : files?.lineIndexOf(r.file);
      if (!index) continue;
      related.push({
        location: {
          uri: r.file === undefined ? ownUri : (files?.uriOf(r.file) ?? ownUri),
          range: index.rangeOf(r.span),
        },
        message: r.message,
      });
    }
    if (related.length > 0) diagnostic.relatedInformation = related;
  }
  return diagnostic;
}

/** The quick fixes of the diagnostics that touch `range`, each tied to its diagnostic. */
export function toCodeActions(
  diagnostics: CairnDiagnostic[],
  lines: LineIndex,
  uri: string,
  requested: Span,
): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const d of diagnostics) {
    if (!d.fixes || d.fixes.length === 0 || !touches(d.span, requested)) continue;
    const diagnostic = toDiagnostic(d, lines, undefined, uri);
    for (const fix of d.fixes) {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        isPreferred: fix.isPreferred === true,
        diagnostics: [diagnostic],
        edit: { changes: { [uri]: [{ range: lines.rangeOf(fix.span), newText: fix.newText }] } },
      });
    }
  }
  return actions;
}

/** Spans overlap, or touch at an end (a cursor right after a word still gets its fixes). */
function touches(a: Span, b: Span): boolean {
  return a.start <= b.end && b.start <= a.end;
}

const completionKinds: Record<CompletionKind, CompletionItemKind> = {
  property: CompletionItemKind.Property,
  value: CompletionItemKind.Value,
  step: CompletionItemKind.Function,
  param: CompletionItemKind.Variable,
  data: CompletionItemKind.File,
  output: CompletionItemKind.Reference,
  builtin: CompletionItemKind.Module,
  metric: CompletionItemKind.Constant,
  snippet: CompletionItemKind.Snippet,
  section: CompletionItemKind.Struct,
  license: CompletionItemKind.EnumMember,
  file: CompletionItemKind.File,
};

export function toCompletionItem(c: Completion, lines: LineIndex): CompletionItem {
  const item: CompletionItem = { label: c.label, kind: completionKinds[c.kind] };
  if (c.detail !== undefined) item.detail = c.detail;
  if (c.documentation !== undefined) item.documentation = { kind: MarkupKind.Markdown, value: c.documentation };
  if (c.sortText !== undefined) item.sortText = c.sortText;
  if (c.filterText !== undefined) item.filterText = c.filterText;
  if (c.snippet === true) item.insertTextFormat = InsertTextFormat.Snippet;
  const newText = c.insertText ?? c.label;
  if (c.replace) item.textEdit = { range: lines.rangeOf(c.replace), newText };
  else if (c.insertText !== undefined) item.insertText = c.insertText;
  return item;
}

export function toLocations(spans: FileSpan[], files: FileResolver): Location[] {
  const locations: Location[] = [];
  for (const s of spans) {
    const index = files.lineIndexOf(s.file);
    if (index) locations.push({ uri: files.uriOf(s.file), range: index.rangeOf(s.span) });
  }
  return locations;
}

export function toWorkspaceEdit(edits: FileEdit[], files: FileResolver): WorkspaceEdit {
  const changes: Record<string, TextEdit[]> = {};
  for (const e of edits) {
    const index = files.lineIndexOf(e.file);
    if (!index) continue;
    const uri = files.uriOf(e.file);
    (changes[uri] ??= []).push({ range: index.rangeOf(e.span), newText: e.newText });
  }
  return { changes };
}

const symbolKinds: Record<OutlineSymbol['kind'], SymbolKind> = {
  module: SymbolKind.Module,
  namespace: SymbolKind.Namespace,
  function: SymbolKind.Function,
  variable: SymbolKind.Variable,
  property: SymbolKind.Property,
  field: SymbolKind.Field,
  string: SymbolKind.String,
  file: SymbolKind.File,
  event: SymbolKind.Event,
};

export function toDocumentSymbols(symbols: OutlineSymbol[], lines: LineIndex): DocumentSymbol[] {
  return symbols.map((s) => {
    const range = lines.rangeOf(s.span);
    const selection = lines.rangeOf(s.selectionSpan);
    const symbol: DocumentSymbol = {
      // LSP requires a non-empty name and the selection inside the range; services are trusted for the rest.
      name: s.name.length > 0 ? s.name : '(unnamed)',
      kind: symbolKinds[s.kind],
      range,
      selectionRange: contains(s.span, s.selectionSpan) ? selection : range,
      children: toDocumentSymbols(s.children, lines),
    };
    if (s.detail !== undefined) symbol.detail = s.detail;
    return symbol;
  });
}

function contains(outer: Span, inner: Span): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}
