import type { Span } from '@cairn/protocol';

/**
 * Where the cursor is in front-matter YAML, read line by line so that half-typed (invalid) YAML still answers:
 * the keys above it by indentation, and whether it is on a key or a value.
 */
export interface YamlContext {
  /** Keys of the enclosing mappings from the root (sequence items are transparent). */
  path: string[];
  on: 'key' | 'value';
  /** On a value: the key it belongs to (for a `- item` of a list: the list's key, and `listItem` is true). */
  key?: string;
  listItem: boolean;
  /** What a completion replaces: the word (key) or the scalar (value) under the cursor. */
  span: Span;
  /** Text typed so far in `span`, up to the cursor. */
  prefix: string;
}

interface YamlLine {
  indent: number;
  dash: boolean;
  keyCol: number;
  key?: string;
}

function analyze(line: string): YamlLine | undefined {
  if (line.trim() === '' || /^\s*#/.test(line)) return undefined;
  const m = /^( *)((?:- +)*)/.exec(line);
  const indent = m?.[1]?.length ?? 0;
  const dashes = m?.[2] ?? '';
  const keyCol = indent + dashes.length;
  const km = /^("[^"]*"|'[^']*'|[^\s:#'"][^:]*?)[ \t]*:(?:\s|$)/.exec(line.slice(keyCol));
  const key = km?.[1]?.replace(/^["']|["']$/g, '');
  return key === undefined ? { indent, dash: dashes !== '', keyCol } : { indent, dash: dashes !== '', keyCol, key };
}

function lineBounds(text: string, offset: number, min: number, max: number): { start: number; end: number } {
  let start = offset;
  while (start > min && text[start - 1] !== '\n' && text[start - 1] !== '\r') start--;
  let end = offset;
  while (end < max && text[end] !== '\n' && text[end] !== '\r') end++;
  return { start, end };
}

/** The context at `offset` inside the YAML `text[region.start, region.end)`. */
export function yamlContextAt(text: string, region: Span, offset: number): YamlContext {
  const { start, end } = lineBounds(text, offset, region.start, region.end);
  const line = text.slice(start, end);
  const blankIndent = line.length - line.trimStart().length;
  const cur = analyze(line) ?? { indent: blankIndent, dash: false, keyCol: blankIndent };
  const col = offset - start;

  // Enclosing keys, walking up by indentation.
  const above = text.slice(region.start, start).split(/\r\n|\r|\n/);
  const path: string[] = [];
  let mode: 'key' | 'dash' = cur.dash ? 'dash' : 'key';
  let c = cur.dash ? cur.indent : cur.keyCol;
  for (let i = above.length - 1; i >= 0; i--) {
    const l = analyze(above[i] ?? '');
    if (l === undefined) continue;
    const isParent = mode === 'key' ? l.keyCol < c : (!l.dash && l.keyCol <= c) || (l.dash && l.indent < c);
    if (!isParent) continue;
    if (l.key !== undefined) path.unshift(l.key);
    if (l.dash) {
      mode = 'dash';
      c = l.indent;
    } else {
      mode = 'key';
      c = l.keyCol;
    }
    if (c === 0 && !l.dash) break;
  }

  const afterKeyCol = line.slice(cur.keyCol);
  const colonAt = /^[^:#]*?:(?:\s|$)/.exec(afterKeyCol);
  const colon = colonAt === null ? -1 : cur.keyCol + colonAt[0].lastIndexOf(':');
  if (colon >= 0 && col > colon) {
    let vs = colon + 1;
    while (vs < line.length && (line[vs] === ' ' || line[vs] === '\t')) vs++;
    const ve = line.replace(/\s+#.*$/, '').trimEnd().length;
    const span = { start: start + Math.min(vs, col), end: start + Math.max(col, ve) };
    return {
      path,
      on: 'value',
      key: cur.key ?? line.slice(cur.keyCol, colon).trim(),
      listItem: false,
      span,
      prefix: text.slice(span.start, offset),
    };
  }
  // A list item without a colon is a value of the list's key.
  const wordStart = cur.dash ? cur.keyCol : cur.indent;
  const wordEnd = colon >= 0 ? colon : line.replace(/\s+#.*$/, '').trimEnd().length;
  const span = { start: start + Math.min(wordStart, col), end: start + Math.max(col, wordEnd) };
  if (cur.dash && colon < 0) {
    const listKey = path[path.length - 1];
    const ctx: YamlContext = {
      path: path.slice(0, -1),
      on: 'value',
      listItem: true,
      span,
      prefix: text.slice(span.start, offset),
    };
    if (listKey !== undefined) ctx.key = listKey;
    return ctx;
  }
  return { path, on: 'key', listItem: false, span, prefix: text.slice(span.start, offset) };
}
