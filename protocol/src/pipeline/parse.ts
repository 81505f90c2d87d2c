import type { CairnDiagnostic } from '../diagnostics.js';
import { LineIndex } from '../text.js';
import { PipelineCode } from './codes.js';
import { locateOffset } from './cursor.js';
import type { CheckState } from './crossReuse.js';
import { reparse, singleEdit, type Block } from './incremental.js';
import type { ParsedPipeline, PipelineReference } from './model.js';
import { checkNotAMapping, checkRootKeys, checkTopEntry } from './structure.js';
import { collectSymbols, sameNames, topReferences, updateSymbols, type SymbolTables } from './symbols.js';
import { parseYaml, toValue, type YMap } from './yamlTree.js';

/**
 * Parsing a pipeline: YAML with offsets (yamlTree.ts) → the schema mapping of each section and step (structure.ts)
 * and the references it makes (symbols.ts) → the document with its symbol tables and cursor queries (cursor.ts).
 * Block by block when it can (incremental.ts), else the whole text at once; both give the same document. The
 * semantic pass over the document is check.ts.
 */

export interface PipelineDocument extends Omit<ParsedPipeline, 'symbols'> {
  /** The YAML tree (undefined when the text is not a mapping). */
  root: YMap | undefined;
  symbols: SymbolTables;
  /** Blocks of the incremental parse (undefined after a full parse). */
  blocks: Block[] | undefined;
  /** How this parse was made (for tests and benchmarks). */
  mode: 'full' | 'incremental';
  reusedBlocks: number;
  /** What the last check of this document (or of the one it was re-parsed from) can lend the next (check.ts). */
  checkState: CheckState;
}

export function isPipelineDocument(p: ParsedPipeline | PipelineDocument | undefined): p is PipelineDocument {
  return p !== undefined && 'mode' in p && 'root' in p;
}

export interface ParseOptions {
  /** Parse the whole text at once (tests compare it with the incremental parse). */
  full?: boolean;
  /**
   * The caller drops `previous` (it keeps only the new document): its blocks may be moved in place when an edit
   * changes the text's length, instead of copied, and `previous` must not be read again.
   */
  consume?: boolean;
}

export function parsePipeline(
  file: string,
  text: string,
  previous?: ParsedPipeline | PipelineDocument,
  options: ParseOptions = {},
): PipelineDocument {
  const prev = isPipelineDocument(previous) ? previous : undefined;
  const inc = options.full ? undefined : reparse(text, prev?.blocks, prev?.text, options.consume === true);
  if (!inc) return parseFull(file, text);
  // One block parsed again in place (the others untouched): its symbols replace the old ones in the last tables.
  const symbols = inc.replaced && prev ? updateSymbols(prev.symbols, inc.root, inc.replaced) : undefined;
  const edit = symbols && prev ? singleEdit(inc.blocks) : undefined;
  // Every `${...}` resolves as before when the names it can resolve to are the same (check.ts keeps its step caches).
  if (edit && symbols && prev) edit.namesKept = sameNames(prev.symbols, symbols, edit.step);
  const doc = finish(
    file,
    text,
    inc.root,
    inc.diagnostics,
    inc.references,
    inc.blocks,
    'incremental',
    inc.reused,
    inc.value,
    prev?.checkState ?? {},
    symbols,
  );
  for (const [entry, cache] of inc.caches) {
    const step = doc.symbols.steps.get(entry.key);
    if (step?.entry === entry) step.cache = cache;
  }
  return doc;
}

function parseFull(file: string, text: string): PipelineDocument {
  const y = parseYaml(text, 0);
  const diagnostics = [...y.diagnostics];
  const references: PipelineReference[] = [];
  let root: YMap | undefined;
  if (y.root?.kind === 'map') {
    root = y.root;
    for (const e of root.entries) {
      checkTopEntry(e, diagnostics, false);
      topReferences(e, text, references, diagnostics);
    }
  } else {
    checkNotAMapping(y.root, diagnostics);
  }
  return finish(file, text, root, diagnostics, references, undefined, 'full', 0, undefined, {});
}

function finish(
  file: string,
  text: string,
  root: YMap | undefined,
  findings: CairnDiagnostic[],
  references: PipelineReference[],
  blocks: Block[] | undefined,
  mode: 'full' | 'incremental',
  reused: number,
  assembledValue: unknown,
  checkState: CheckState,
  updatedSymbols?: SymbolTables,
): PipelineDocument {
  let diagnostics = findings;
  if (root) checkRootKeys(root, diagnostics);
  // On broken YAML the tree is a guess: structure findings on it would mostly be noise.
  if (diagnostics.some((d) => d.code === PipelineCode.yamlSyntax)) {
    diagnostics = diagnostics.filter(
      (d) => d.code === PipelineCode.yamlSyntax || d.code === PipelineCode.multiDocument,
    );
  }
  diagnostics.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  const symbols = updatedSymbols ?? collectSymbols(root);
  const value = assembledValue ?? (root ? toValue(root) : undefined);
  let lines: LineIndex | undefined;
  const doc: PipelineDocument = {
    file,
    text,
    // Built on first use: most re-parses never convert an offset.
    get lines() {
      lines ??= new LineIndex(text);
      return lines;
    },
    value,
    symbols,
    references,
    diagnostics,
    root,
    blocks,
    mode,
    reusedBlocks: reused,
    checkState,
    nodeAt: (offset) => locateOffset(doc, offset),
  };
  return doc;
}
