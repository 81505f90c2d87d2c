import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { PipelineCode, pipelineCodeSeverity } from './codes.js';
import { parsePlainYaml } from './plainYaml.js';
import { maxNesting, nestingMessage, tooDeepAt, yamlErrorDiagnostics } from './yamlErrors.js';

/**
 * A small, immutable YAML tree with offsets, converted from `yaml`'s Document. Ours rather than yaml's nodes so that
 * a block parsed on its own can be shifted to its place in the file (the incremental parse) without touching the
 * previous parse, and so that duplicate keys keep both occurrences.
 */
export interface YScalar {
  kind: 'scalar';
  span: Span;
  value: string | number | boolean | null;
  /** Written in quotes or as a block scalar (`|`, `>`): never a number or bool. */
  quoted: boolean;
}
export interface YEntry {
  key: string;
  keySpan: Span;
  value: YNode;
  /** From the key's start to the value's end. */
  span: Span;
}
export interface YMap {
  kind: 'map';
  span: Span;
  entries: YEntry[];
  flow: boolean;
}
export interface YSeq {
  kind: 'seq';
  span: Span;
  items: YNode[];
  flow: boolean;
}
export type YNode = YScalar | YMap | YSeq;

export interface YamlParse {
  root: YNode | undefined;
  diagnostics: CairnDiagnostic[];
  /** Anchors or aliases appear: a block cannot be parsed apart from the others. */
  hasAnchors: boolean;
  documents: number;
}

function diag(code: PipelineCode, message: string, span: Span, extra?: Partial<CairnDiagnostic>): CairnDiagnostic {
  return { code, severity: pipelineCodeSeverity[code], message, span, ...extra };
}

export { diag as makeDiagnostic };

/**
 * A mapping's entry for `key`, kept unless the key came before: then only the first counts and the duplicate is
 * reported at its key (what `yaml` would otherwise keep silently).
 */
export function addEntry(
  entries: YEntry[],
  seen: Map<string, YEntry>,
  diagnostics: CairnDiagnostic[],
  key: string,
  keySpan: Span,
  value: YNode,
): void {
  const first = seen.get(key);
  if (first) {
    diagnostics.push(duplicateKey(key, keySpan, first.keySpan));
    return;
  }
  const entry: YEntry = {
    key,
    keySpan,
    value,
    span: { start: keySpan.start, end: Math.max(keySpan.end, value.span.end) },
  };
  seen.set(key, entry);
  entries.push(entry);
}

/** A mapping repeats a key: the later one is reported (and ignored), pointing at the first. */
export function duplicateKey(key: string, keySpan: Span, first: Span): CairnDiagnostic {
  return diag(
    PipelineCode.duplicateKey,
    `Duplicate key '${key}': it is already defined above and only the first one counts; remove or rename one.`,
    keySpan,
    {
      related: [{ span: first, message: `first '${key}'` }],
    },
  );
}

/** Parses YAML text; offsets are relative to `text` plus `base`. */
export function parseYaml(text: string, base = 0, depth = 0): YamlParse {
  const diagnostics: CairnDiagnostic[] = [];
  // Checked before yaml's recursive composer runs: one finding, never the engine's stack overflow.
  const deep = tooDeepAt(text, depth);
  if (deep !== undefined) {
    diagnostics.push(
      diag(PipelineCode.yamlSyntax, nestingMessage, {
        start: base + deep,
        end: base + Math.min(text.length, deep + 1),
      }),
    );
    return { root: undefined, diagnostics, hasAnchors: false, documents: 1 };
  }
  // Most pipelines are plain block mappings: read those directly (same tree), the rest with `yaml`.
  const plain = parsePlainYaml(text, base, depth);
  if (plain) return { root: plain.root, diagnostics: plain.diagnostics, hasAnchors: false, documents: 1 };
  return parseWithPackage(text, base, depth, diagnostics);
}

/** The `yaml` package's parse, converted (parseYaml without its fast path; tests compare the two). */
export function parseYamlWithPackage(text: string, base = 0, depth = 0): YamlParse {
  const diagnostics: CairnDiagnostic[] = [];
  const deep = tooDeepAt(text, depth);
  if (deep !== undefined) return parseYaml(text, base, depth);
  return parseWithPackage(text, base, depth, diagnostics);
}

function parseWithPackage(text: string, base: number, depth: number, diagnostics: CairnDiagnostic[]): YamlParse {
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false, strict: true });
  } catch (error) {
    // yaml does not throw on bad input as far as we know; if it ever does, report it (in our words) instead of crashing.
    const message =
      error instanceof RangeError
        ? nestingMessage
        : 'This text could not be read as YAML: check the indentation, brackets and quotes around here.';
    diagnostics.push(diag(PipelineCode.yamlSyntax, message, { start: base, end: base + Math.min(text.length, 1) }));
    return { root: undefined, diagnostics, hasAnchors: false, documents: 0 };
  }
  for (const d of yamlErrorDiagnostics(doc.errors, text, base)) diagnostics.push(d);
  let documents = 1;
  // A second document shows up as text after the first one's end marker (text left after a syntax error is not one).
  const docEnd = doc.range[2];
  const secondDocument =
    doc.errors.some((e) => e.code === 'MULTIPLE_DOCS') ||
    /^(---|\.\.\.)(\s|$)/.test(stripComments(text.slice(docEnd)).trimStart());
  if (docEnd < text.length && secondDocument && /\S/.test(stripComments(text.slice(docEnd)))) {
    documents = 2;
    const rest = text.slice(docEnd);
    const offset = docEnd + rest.search(/\S/);
    diagnostics.push(
      diag(
        PipelineCode.multiDocument,
        'A pipeline file holds one YAML document; remove the `---` and what follows, or move it to its own file.',
        {
          start: base + offset,
          end: base + Math.min(text.length, offset + 3),
        },
      ),
    );
  }
  const state: ConvertState = {
    doc,
    text,
    base,
    diagnostics,
    hasAnchors: false,
    depth,
    aliasDepth: 0,
    budget: 200_000,
    stopped: false,
  };
  const root = doc.contents ? convert(doc.contents, state) : undefined;
  return { root, diagnostics, hasAnchors: state.hasAnchors, documents };
}

function stripComments(s: string): string {
  return s.replace(/^\s*#.*$/gm, '').replace(/^\s*(---|\.\.\.)\s*$/gm, (m) => (m.trim() === '...' ? '' : m));
}

interface ConvertState {
  doc: Document.Parsed;
  text: string;
  base: number;
  diagnostics: CairnDiagnostic[];
  hasAnchors: boolean;
  /** Nesting depth: deep structures are cut off rather than overflowing the stack. */
  depth: number;
  /** Aliases being expanded inside each other. */
  aliasDepth: number;
  /** Nodes left to convert: alias expansion ("billion laughs") cannot blow up memory or time. */
  budget: number;
  stopped: boolean;
}

function spanOf(node: { range?: [number, number, number] | null }, base: number, text?: string): Span {
  const r = node.range;
  if (!r) return { start: base, end: base };
  let end = r[1];
  // Block collections end after their last line break; a finding should not run onto the next line.
  if (text !== undefined) while (end > r[0] && /\s/.test(text[end - 1] ?? '')) end--;
  return { start: base + r[0], end: base + end };
}

function convert(node: YamlNode, st: ConvertState): YNode {
  if (node.anchor) st.hasAnchors = true;
  if (--st.budget < 0 || st.depth > maxNesting) {
    const span = spanOf(node, st.base);
    if (!st.stopped) {
      st.stopped = true;
      st.diagnostics.push(
        diag(
          PipelineCode.yamlSyntax,
          st.depth > maxNesting
            ? nestingMessage
            : 'Aliases expand to too much data: a pipeline is never this large; use fewer aliases of aliases.',
          { start: span.start, end: Math.max(span.start + 1, Math.min(span.end, span.start + 1)) },
        ),
      );
    }
    return { kind: 'scalar', span, value: null, quoted: false };
  }
  if (isAlias(node)) {
    st.hasAnchors = true;
    const span = spanOf(node, st.base);
    const target = st.aliasDepth < 20 ? node.resolve(st.doc) : undefined;
    if (!target) {
      const written = st.text.slice(span.start - st.base, span.end - st.base);
      st.diagnostics.push(
        diag(
          PipelineCode.yamlSyntax,
          `Unknown alias *${node.source}: a value starting with \`*\` stands for the anchor &${node.source} defined above; define it, or quote the value if it is text: ${JSON.stringify(written)}.`,
          span,
          {
            fixes: [
              {
                title: `Quote the value: ${JSON.stringify(written)}`,
                span,
                newText: JSON.stringify(written),
                isPreferred: true,
              },
            ],
          },
        ),
      );
      return { kind: 'scalar', span, value: null, quoted: false };
    }
    st.aliasDepth++;
    const copy = convert(target, st);
    st.aliasDepth--;
    // The copy keeps the anchor's offsets inside; the alias itself is where it is used.
    return { ...copy, span };
  }
  if (isScalar(node)) {
    const v = node.value;
    const value = scalarValue(v, node.source);
    return {
      kind: 'scalar',
      span: spanOf(node, st.base),
      value,
      quoted: node.type !== 'PLAIN' && node.type !== undefined,
    };
  }
  if (isMap(node)) {
    st.depth++;
    const entries: YEntry[] = [];
    const seen = new Map<string, YEntry>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      let key: string;
      let keySpan: Span;
      if (keyNode && isScalar(keyNode)) {
        const k = scalarValue(keyNode.value, keyNode.source);
        key = k === null ? '' : String(k);
        keySpan = spanOf(keyNode, st.base);
      } else if (keyNode) {
        keySpan = spanOf(keyNode, st.base);
        st.diagnostics.push(diag(PipelineCode.wrongType, 'Keys must be plain names, not lists or mappings.', keySpan));
        continue;
      } else {
        continue;
      }
      const valueNode = pair.value as YamlNode | null;
      const value: YNode = valueNode
        ? convert(valueNode, st)
        : { kind: 'scalar', span: { start: keySpan.end + 1, end: keySpan.end + 1 }, value: null, quoted: false };
      if (!valueNode) value.span = emptyAfterColon(st, keySpan);
      else if (isScalar(valueNode) && valueNode.value === null && valueNode.source === '')
        value.span = emptyAfterColon(st, keySpan);
      addEntry(entries, seen, st.diagnostics, key, keySpan, value);
    }
    st.depth--;
    return { kind: 'map', span: spanOf(node, st.base, st.text), entries, flow: node.flow === true };
  }
  if (isSeq(node)) {
    st.depth++;
    const items: YNode[] = [];
    for (const item of node.items) {
      if (item && typeof item === 'object' && 'range' in item) items.push(convert(item as YamlNode, st));
      else items.push({ kind: 'scalar', span: spanOf(node, st.base), value: null, quoted: false });
    }
    st.depth--;
    return { kind: 'seq', span: spanOf(node, st.base, st.text), items, flow: node.flow === true };
  }
  return { kind: 'scalar', span: spanOf(node, st.base), value: null, quoted: false };
}

/** A scalar's value as JSON-like data; anything else yaml may produce (a Date with custom tags...) keeps its source. */
function scalarValue(v: unknown, source: string | undefined): string | number | boolean | null {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'bigint') return Number(v);
  return source ?? '';
}

/** An empty value sits right after the key's colon. */
function emptyAfterColon(st: ConvertState, keySpan: Span): Span {
  const colon = st.text.indexOf(':', keySpan.end - st.base);
  const at = colon >= 0 && colon - (keySpan.end - st.base) < 64 ? st.base + colon + 1 : keySpan.end;
  return { start: at, end: at };
}

/** The plain value of a node (what `yaml`'s toJS would give; the first of duplicate keys wins). */
export function toValue(node: YNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toValue);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) {
        // `__proto__` must become an own key, not the prototype.
        if (e.key === '__proto__')
          Object.defineProperty(out, e.key, {
            value: toValue(e.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else out[e.key] = toValue(e.value);
      }
      return out;
    }
  }
}

export function shiftSpan(s: Span, d: number): Span {
  return { start: s.start + d, end: s.end + d };
}

export function shiftNode(node: YNode, d: number): YNode {
  // Object literals with a fixed shape (no spread): this runs for every node after an edit.
  switch (node.kind) {
    case 'scalar':
      return {
        kind: 'scalar',
        span: { start: node.span.start + d, end: node.span.end + d },
        value: node.value,
        quoted: node.quoted,
      };
    case 'seq': {
      const items = new Array<YNode>(node.items.length);
      for (let i = 0; i < items.length; i++) items[i] = shiftNode(node.items[i] as YNode, d);
      return { kind: 'seq', span: { start: node.span.start + d, end: node.span.end + d }, items, flow: node.flow };
    }
    case 'map': {
      const entries = new Array<YEntry>(node.entries.length);
      for (let i = 0; i < entries.length; i++) entries[i] = shiftEntry(node.entries[i] as YEntry, d);
      return { kind: 'map', span: { start: node.span.start + d, end: node.span.end + d }, entries, flow: node.flow };
    }
  }
}

export function shiftEntry(e: YEntry, d: number): YEntry {
  return { key: e.key, keySpan: shiftSpan(e.keySpan, d), value: shiftNode(e.value, d), span: shiftSpan(e.span, d) };
}

/**
 * `shiftEntry` in place: every span of the entry's tree moves by `d`. Only for trees nothing else reads at their old
 * offsets (incremental.ts, a consumed parse); every span object of a tree is its own (never shared between nodes).
 */
export function moveEntry(e: YEntry, d: number): void {
  moveSpan(e.keySpan, d);
  moveSpan(e.span, d);
  moveNode(e.value, d);
}

/** `shiftSpan` in place. */
export function moveSpan(s: Span, d: number): void {
  s.start += d;
  s.end += d;
}

function moveNode(node: YNode, d: number): void {
  moveSpan(node.span, d);
  if (node.kind === 'map') for (const e of node.entries) moveEntry(e, d);
  else if (node.kind === 'seq') for (const i of node.items) moveNode(i, d);
}

export function shiftDiagnostic(x: CairnDiagnostic, d: number): CairnDiagnostic {
  const out: CairnDiagnostic = { ...x, span: shiftSpan(x.span, d) };
  if (x.fixes) out.fixes = x.fixes.map((f) => ({ ...f, span: shiftSpan(f.span, d) }));
  if (x.related) out.related = x.related.map((r) => (r.file === undefined ? { ...r, span: shiftSpan(r.span, d) } : r));
  return out;
}

export function mapGet(node: YNode | undefined, key: string): YEntry | undefined {
  if (node?.kind !== 'map') return undefined;
  return node.entries.find((e) => e.key === key);
}

/** The node at a key path, or undefined. */
export function nodeAtPath(node: YNode | undefined, path: ReadonlyArray<string | number>): YNode | undefined {
  let cur = node;
  for (const k of path) {
    if (!cur) return undefined;
    if (typeof k === 'number') cur = cur.kind === 'seq' ? cur.items[k] : undefined;
    else cur = mapGet(cur, k)?.value;
  }
  return cur;
}
