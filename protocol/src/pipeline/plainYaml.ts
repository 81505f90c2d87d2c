import type { CairnDiagnostic } from '../diagnostics.js';
import type { Span } from '../text.js';
import { maxNesting } from './yamlErrors.js';
import { addEntry, type YEntry, type YMap, type YNode, type YScalar, type YSeq } from './yamlTree.js';

/**
 * A fast path for the plain YAML most pipelines are written in: block mappings of plain keys whose values are
 * one-line plain or quoted scalars or one-line flow collections, with comments at the end of a line or at column 0.
 * It gives exactly the tree yamlTree.ts converts from the `yaml` package's Document (same spans, values and
 * duplicate-key findings) and gives up (undefined) on anything else: block sequences, multi-line scalars, escapes,
 * anchors, tags, indented comment lines, documents markers, tabs, CR, unusual characters. The caller then parses with
 * `yaml`. Why: `yaml`'s lexer, CST and composer cost ~1 s on a 2.4 MB pipeline; this reads it in a fraction of that.
 * test/unit/pipeline/plainYaml.test.ts proves the equivalence on generated, sample and fuzzed pipelines.
 */

export interface PlainParse {
  root: YMap;
  diagnostics: CairnDiagnostic[];
}

/** Thrown inside the parser to give up; never escapes this module. */
const giveUp = Symbol('plainYaml.giveUp');

/** Keys read as strings by the core schema (no number, bool or null look-alikes: those start with a digit or are words). */
const keyPattern = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const nonStringWords = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** yaml's node budget (yamlTree.ts) is left to it: such a text is not "plain". */
const maxNodes = 190_000;

export function parsePlainYaml(text: string, base: number, depth: number): PlainParse | undefined {
  if (!plainCharacters(text)) return undefined;
  const p = new Parser(text, base, depth);
  try {
    return p.document();
  } catch (error) {
    if (error === giveUp) return undefined;
    throw error;
  }
}

/** Printable ASCII and line feeds, plus non-ASCII letters that are neither whitespace, line breaks nor surrogates. */
function plainCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    if (c === 10) continue;
    if (c < 0xa0 || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe || c === 0xfeff) return false;
    if (/\s/.test(text[i] ?? '')) return false;
  }
  return true;
}

function fail(): never {
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a private sentinel, caught in parsePlainYaml
  throw giveUp;
}

/** The core schema's reading of a plain scalar (yaml's schema/core tags, in their order). */
export function plainValue(s: string): string | number | boolean | null {
  const c = s.charCodeAt(0);
  // Fast exit: a scalar starting with a letter other than the words below (and not `.`/digit/sign/~) is a string.
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  const digitish = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
  if (!digitish) return s;
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(s)) return parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s))
    return s.slice(-3).toLowerCase() === 'nan' ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s)) return parseFloat(s);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s)) return parseFloat(s);
  return s;
}

class Parser {
  /** Start of the current line. */
  private pos = 0;
  private nodes = 0;
  private readonly diagnostics: CairnDiagnostic[] = [];

  constructor(
    private readonly text: string,
    private readonly base: number,
    private readonly depth: number,
  ) {}

  document(): PlainParse | undefined {
    const first = this.nextContent(true);
    if (first === undefined || first.indent < 0) return undefined; // empty or comments only: yaml's (rare, cheap)
    const root = this.blockMap(first.indent, this.depth);
    if (this.pos < this.text.length) fail(); // a line left of the root mapping
    return { root, diagnostics: this.diagnostics };
  }

  /**
   * Moves to the next line with content and returns its indent, skipping blank lines and column-0 comments (which the
   * caller allows only where yaml leaves them out of every range: before a column-0 key or the end). Indented comment
   * lines give up. undefined at the end of the text.
   */
  private nextContent(allowComments: boolean): { indent: number; sawComment: boolean } | undefined {
    const t = this.text;
    let sawComment = false;
    while (this.pos < t.length) {
      let j = this.pos;
      while (t.charCodeAt(j) === 32) j++;
      const c = t.charCodeAt(j);
      if (j >= t.length || c === 10) {
        this.pos = j >= t.length ? t.length : j + 1;
        continue;
      }
      if (c === 35 /* # */) {
        if (j !== this.pos || !allowComments) fail();
        sawComment = true;
        const nl = t.indexOf('\n', j);
        this.pos = nl < 0 ? t.length : nl + 1;
        continue;
      }
      return { indent: j - this.pos, sawComment };
    }
    if (sawComment) return { indent: -1, sawComment };
    return undefined;
  }

  /** A block mapping whose keys sit at `indent`; `level` counts nesting as yamlTree.ts does. */
  private blockMap(indent: number, level: number): YMap {
    if (level + 2 > maxNesting) fail();
    const t = this.text;
    const entries: YEntry[] = [];
    const seen = new Map<string, YEntry>();
    let start = -1;
    let end = 0;
    for (;;) {
      const ls = this.pos;
      const keyStart = ls + indent;
      keyPattern.lastIndex = keyStart;
      if (!keyPattern.test(t)) fail();
      const keyEnd = keyPattern.lastIndex;
      if (t.charCodeAt(keyEnd) !== 58 /* : */) fail();
      const afterColon = keyEnd + 1;
      const ac = t.charCodeAt(afterColon);
      if (!(afterColon >= t.length || ac === 32 || ac === 10)) fail();
      const key = t.slice(keyStart, keyEnd);
      if (nonStringWords.has(key) || keyEnd - keyStart > 1000) fail();
      if (start < 0) start = keyStart;
      const keySpan = this.span(keyStart, keyEnd);
      let j = afterColon;
      while (t.charCodeAt(j) === 32) j++;
      let value: YNode;
      let entryEnd: number; // where the map's trimmed range would end if this entry were its last
      const c = t.charCodeAt(j);
      if (j >= t.length || c === 10 || c === 35) {
        // No value on the line: a nested mapping below, or empty.
        const hasComment = c === 35;
        const lineEnd = this.lineEnd(j);
        this.pos = lineEnd < t.length ? lineEnd + 1 : t.length;
        const next = this.nextContent(false);
        this.count();
        if (next !== undefined && next.indent > indent) {
          const map = this.blockMap(next.indent, level + 1);
          value = map;
          entryEnd = map.span.end - this.base;
        } else {
          const at = this.base + afterColon;
          value = { kind: 'scalar', span: { start: at, end: at }, value: null, quoted: false };
          entryEnd = hasComment ? this.trimmedEnd(lineEnd) : afterColon;
        }
      } else {
        value = this.inlineValue(j, level + 1, false);
        let k = value.span.end - this.base;
        while (t.charCodeAt(k) === 32) k++;
        const kc = t.charCodeAt(k);
        if (kc === 35) {
          if (t.charCodeAt(k - 1) !== 32) fail();
        } else if (!(k >= t.length || kc === 10)) fail();
        const lineEnd = this.lineEnd(k);
        entryEnd = this.trimmedEnd(lineEnd);
        this.pos = lineEnd < t.length ? lineEnd + 1 : t.length;
      }
      addEntry(entries, seen, this.diagnostics, key, keySpan, value);
      end = entryEnd;
      const next = this.nextContent(true);
      if (next === undefined) break;
      if (next.indent === indent && !next.sawComment) continue;
      // A column-0 comment is outside every range only before a column-0 key or at the end.
      if (next.sawComment && !(next.indent === 0 || next.indent === -1)) fail();
      if (next.indent === indent) continue;
      if (next.indent > indent) fail(); // a continuation line or a stray indent: yaml's to judge
      // A shallower line closes this mapping; the caller checks it is one of its own. Leave pos at that line.
      break;
    }
    return { kind: 'map', span: this.span(start, end), entries, flow: false };
  }

  /** A value on the key's line: a plain or quoted scalar or a flow collection. */
  private inlineValue(at: number, level: number, flow: boolean): YNode {
    const t = this.text;
    const c = t.charCodeAt(at);
    if (c === 34 /* " */ || c === 39 /* ' */) return this.quoted(at, c);
    if (c === 91 /* [ */) return this.flowSeq(at, level);
    if (c === 123 /* { */) return this.flowMap(at, level);
    return this.plain(at, flow);
  }

  private plain(at: number, flow: boolean): YScalar {
    const t = this.text;
    const c = t.charCodeAt(at);
    // Indicators that cannot start a plain scalar, or start something else (anchors, tags, block scalars...).
    if ('[]{},#&*!|>\'"%@`'.includes(t[at] ?? '#')) fail();
    if (c === 45 || c === 63 || c === 58) {
      const n = t.charCodeAt(at + 1);
      if (at + 1 >= t.length || n === 32 || n === 10) fail();
      if (flow && ',[]{}'.includes(t[at + 1] ?? '')) fail();
    }
    let j = at;
    let last = at; // end of the last non-space character
    for (; j < t.length; j++) {
      const ch = t.charCodeAt(j);
      if (ch === 10) break;
      if (ch === 32) continue;
      if (ch === 35 && t.charCodeAt(j - 1) === 32) break; // a comment
      if (ch === 58) {
        const n = t.charCodeAt(j + 1);
        // `: ` inside a block plain scalar is a mapping yaml rejects; in flow any `:` is left to yaml.
        if (flow || j + 1 >= t.length || n === 32 || n === 10) fail();
      }
      if (flow && (ch === 44 || ch === 91 || ch === 93 || ch === 123 || ch === 125)) break;
      if (flow && ch === 35) fail();
      last = j + 1;
    }
    this.count();
    const source = t.slice(at, last);
    return { kind: 'scalar', span: this.span(at, last), value: plainValue(source), quoted: false };
  }

  private quoted(at: number, q: number): YScalar {
    const t = this.text;
    let j = at + 1;
    let value = '';
    let from = j;
    for (;;) {
      const ch = t.charCodeAt(j);
      if (j >= t.length || ch === 10) fail(); // runs onto the next line
      if (q === 34 && ch === 92 /* \ */) fail(); // escapes: yaml's
      if (ch === q) {
        if (q === 39 && t.charCodeAt(j + 1) === 39) {
          value += t.slice(from, j + 1);
          j += 2;
          from = j;
          continue;
        }
        break;
      }
      j++;
    }
    value += t.slice(from, j);
    this.count();
    return { kind: 'scalar', span: this.span(at, j + 1), value, quoted: true };
  }

  private flowSeq(at: number, level: number): YSeq {
    if (level + 2 > maxNesting) fail();
    const t = this.text;
    const items: YNode[] = [];
    let j = this.skipSpaces(at + 1);
    this.count();
    if (t.charCodeAt(j) !== 93) {
      for (;;) {
        const item = this.flowItem(j, level + 1);
        items.push(item);
        j = this.skipSpaces(item.span.end - this.base);
        const ch = t.charCodeAt(j);
        if (ch === 44) {
          j = this.skipSpaces(j + 1);
          if (t.charCodeAt(j) === 93) fail(); // a trailing comma
          continue;
        }
        if (ch === 93) break;
        fail();
      }
    }
    return { kind: 'seq', span: this.span(at, j + 1), items, flow: true };
  }

  private flowMap(at: number, level: number): YMap {
    if (level + 2 > maxNesting) fail();
    const t = this.text;
    const entries: YEntry[] = [];
    const seen = new Map<string, YEntry>();
    let j = this.skipSpaces(at + 1);
    this.count();
    if (t.charCodeAt(j) !== 125) {
      for (;;) {
        keyPattern.lastIndex = j;
        if (!keyPattern.test(t)) fail();
        const keyEnd = keyPattern.lastIndex;
        const key = t.slice(j, keyEnd);
        if (nonStringWords.has(key) || t.charCodeAt(keyEnd) !== 58 || t.charCodeAt(keyEnd + 1) !== 32) fail();
        const keySpan = this.span(j, keyEnd);
        const valueAt = this.skipSpaces(keyEnd + 1);
        const vc = t.charCodeAt(valueAt);
        if (vc === 44 || vc === 125 || vc === 10 || valueAt >= t.length) fail(); // an empty value: yaml's
        const value = this.flowItem(valueAt, level + 1);
        addEntry(entries, seen, this.diagnostics, key, keySpan, value);
        j = this.skipSpaces(value.span.end - this.base);
        const ch = t.charCodeAt(j);
        if (ch === 44) {
          j = this.skipSpaces(j + 1);
          if (t.charCodeAt(j) === 125) fail();
          continue;
        }
        if (ch === 125) break;
        fail();
      }
    }
    return { kind: 'map', span: this.span(at, j + 1), entries, flow: true };
  }

  private flowItem(at: number, level: number): YNode {
    const c = this.text.charCodeAt(at);
    if (c === 44 || c === 93 || c === 125 || c === 10 || at >= this.text.length) fail();
    return this.inlineValue(at, level, true);
  }

  private skipSpaces(j: number): number {
    while (this.text.charCodeAt(j) === 32) j++;
    return j;
  }

  private lineEnd(j: number): number {
    const nl = this.text.indexOf('\n', j);
    return nl < 0 ? this.text.length : nl;
  }

  /** The end of a line's content without trailing spaces (what spanOf's trimming leaves of a block mapping's range). */
  private trimmedEnd(lineEnd: number): number {
    let e = lineEnd;
    while (e > 0 && this.text.charCodeAt(e - 1) === 32) e--;
    return e;
  }

  private count(): void {
    if (++this.nodes > maxNodes) fail();
  }

  private span(start: number, end: number): Span {
    return { start: this.base + start, end: this.base + end };
  }
}
