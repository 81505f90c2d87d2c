import type { CairnDiagnostic, TextFix } from '../diagnostics.js';
import type { Span } from '../text.js';
import { PipelineCode, pipelineCodeSeverity } from './codes.js';

/**
 * The `yaml` package's errors in the user's terms: what is wrong and what to write instead, at the exact range, with a
 * quick fix where it is obvious (quoting a value). The parser's own wording never reaches the user unchanged; errors
 * that follow from one already reported (the rest of a flow collection after an unquoted `${`) are left out.
 */

/** What this module reads of a yaml error (`YAMLParseError`). */
export interface YamlError {
  code: string;
  message: string;
  pos: [number, number];
}

/** Nesting deeper than this is refused before anything recursive runs (yaml's composer, our tree, zod). */
export const maxNesting = 100;

export const nestingMessage = `Nesting deeper than ${maxNesting} levels: a pipeline is never this deep; flatten the structure (or quote the value if its brackets are text).`;

/** Words that give away a JavaScript engine message rather than ours (tests check messages against it too). */
export const engineWords =
  /\bundefined\b|\bnull\b|of undefined|is not a function|Maximum call stack|TypeError|RangeError|\[object|\bNaN\b|\n\s+at /;

function diag(message: string, span: Span, fixes?: TextFix[]): CairnDiagnostic {
  const d: CairnDiagnostic = {
    code: PipelineCode.yamlSyntax,
    severity: pipelineCodeSeverity[PipelineCode.yamlSyntax],
    message,
    span,
  };
  if (fixes && fixes.length > 0) d.fixes = fixes;
  return d;
}

/** A double-quoted YAML scalar of `s` (JSON's escapes are YAML's too). */
function quoted(s: string): string {
  return JSON.stringify(s);
}

function quoteFix(text: string, span: Span, base: number): TextFix {
  const value = text.slice(span.start, span.end);
  return {
    title: `Quote the value: ${quoted(value)}`,
    span: { start: base + span.start, end: base + span.end },
    newText: quoted(value),
    isPreferred: true,
  };
}

function lineEnd(text: string, at: number): number {
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl;
}

/** The offset is inside `[ ]` or `{ }` opened earlier on its line (the common case of a flow collection). */
function inFlowOnLine(text: string, at: number): boolean {
  let depth = 0;
  let quote = '';
  for (let i = text.lastIndexOf('\n', at - 1) + 1; i < at; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return depth > 0;
}

/**
 * The plain value starting at `start`: to the end of the line (before a ` #` comment) in block context; in a flow
 * collection to the next `,`, `]` or `}` outside a `${...}`.
 */
function plainValue(text: string, start: number): Span {
  const flow = inFlowOnLine(text, start);
  const eol = lineEnd(text, start);
  let end = start;
  let braces = 0;
  for (; end < eol; end++) {
    const c = text[end];
    if (c === '$' && text[end + 1] === '{') {
      braces++;
      end++;
      continue;
    }
    if (c === '}' && braces > 0) {
      braces--;
      continue;
    }
    if (braces > 0) continue;
    if (flow && (c === ',' || c === ']' || c === '}')) break;
    if (c === '#' && /\s/.test(text[end - 1] ?? '')) break;
  }
  while (end > start && /\s/.test(text[end - 1] ?? '')) end--;
  return { start, end: Math.max(end, start + 1) };
}

/** Where the flow collection around `at` closes (its `]` or `}`), or the end of the text when it never does. */
function flowEnd(text: string, at: number): number {
  let depth = 0;
  let quote = '';
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      if (depth === 0) return i + 1;
      depth--;
    }
  }
  return text.length;
}

const tokenText: Record<string, string> = {
  'flow-map-start': '{',
  'flow-map-end': '}',
  'flow-seq-start': '[',
  'flow-seq-end': ']',
  comma: ',',
  'map-value-ind': ':',
  'seq-item-ind': '-',
  'block-seq-ind': '-',
  'explicit-key-ind': '?',
  anchor: '&',
  alias: '*',
  tag: '!',
  'doc-start': '---',
  'doc-end': '...',
  'directive-line': '%',
};

/** The errors of one parse as diagnostics; offsets are into `text`, reported at `base` plus them. */
export function yamlErrorDiagnostics(errors: readonly YamlError[], text: string, base: number): CairnDiagnostic[] {
  const out: CairnDiagnostic[] = [];
  // Errors before this offset follow from one already reported.
  let skipUntil = -1;
  let lastStart = -1;
  // After a tab in the indentation, the keys below it look misaligned to yaml: that follows from the tab.
  let tab = false;
  for (const e of errors) {
    if (tab && e.code === 'BAD_INDENT' && /same column/.test(e.message)) continue;
    if (e.code === 'TAB_AS_INDENT') tab = true;
    // Reported in our own words elsewhere (yamlTree.ts: a second document; our tree: duplicate keys).
    if (e.code === 'MULTIPLE_DOCS' || e.code === 'DUPLICATE_KEY') continue;
    const at = Math.min(Math.max(0, e.pos[0]), text.length);
    if (at < skipUntil || at === lastStart) continue;
    lastStart = at;
    const d = describe(e, text, at, base);
    out.push(d.diagnostic);
    if (d.skipUntil !== undefined) skipUntil = d.skipUntil;
    else skipUntil = Math.max(skipUntil, d.diagnostic.span.end - base);
  }
  return out;
}

interface Described {
  diagnostic: CairnDiagnostic;
  skipUntil?: number;
}

function describe(e: YamlError, text: string, at: number, base: number): Described {
  const span = errorSpan(e, text, at);
  const abs = (s: Span): Span => ({ start: base + s.start, end: base + s.end });
  const c = text[at] ?? '';
  // `${...}` where yaml reads `$` then a flow mapping: inside `[ ]` / `{ }` (or after an indicator).
  const dollar = c === '{' && text[at - 1] === '$' ? at - 1 : c === '$' && text[at + 1] === '{' ? at : -1;
  if (dollar >= 0) {
    const value = plainValue(text, dollar);
    const written = text.slice(value.start, value.end);
    return {
      diagnostic: diag(`A value that starts with \`\${\` must be quoted here: write ${quoted(written)}.`, abs(value), [
        quoteFix(text, value, base),
      ]),
      skipUntil: inFlowOnLine(text, dollar) ? flowEnd(text, value.end) : lineEnd(text, value.end),
    };
  }
  const message = e.message.split('\n')[0] ?? '';
  switch (e.code) {
    case 'RESOURCE_EXHAUSTION':
      return { diagnostic: diag(nestingMessage, abs(span)), skipUntil: text.length };
    case 'TAB_AS_INDENT':
      return { diagnostic: diag("Tabs can't indent YAML; use spaces.", abs(tabRun(text, at))) };
    case 'BAD_SCALAR_START': {
      const value = plainValue(text, at);
      const written = text.slice(value.start, value.end);
      const what =
        c === '%'
          ? 'the directive sign `%`'
          : c === '`'
            ? 'a backtick (a reserved character)'
            : `the reserved character \`${c}\``;
      return {
        diagnostic: diag(`A plain value can't start with ${what}: quote it, write ${quoted(written)}.`, abs(value), [
          quoteFix(text, value, base),
        ]),
        skipUntil: value.end,
      };
    }
    case 'BLOCK_AS_IMPLICIT_KEY': {
      const value = plainValue(text, at);
      const written = text.slice(value.start, value.end);
      return {
        diagnostic: diag(
          `A value can't hold \`: \` unquoted (it would start a mapping on the same line): quote it, write ${quoted(written)}, or put the nested key on its own line.`,
          abs(value),
          [quoteFix(text, value, base)],
        ),
        skipUntil: value.end,
      };
    }
    case 'MULTILINE_IMPLICIT_KEY': {
      const first = firstLine(text, span);
      return {
        diagnostic: diag(
          'This line is not `key: value`: add `: ` after the key, or `- ` before a list item (a key is one line).',
          abs(first),
        ),
        skipUntil: span.end,
      };
    }
    case 'BAD_INDENT':
      if (/Flow (map|sequence)/.test(message))
        return unclosed(/Flow map/.test(message) ? '{' : '[', text, at, span, base);
      if (/same column/.test(message))
        return {
          diagnostic: diag(
            'The keys of one mapping start at the same column: indent this line like the keys above it.',
            abs(keyOfLine(text, at)),
          ),
        };
      return {
        diagnostic: diag(
          'Wrong indentation here: indent what belongs to a key by more spaces than the key, and its siblings by the same.',
          abs(span),
        ),
      };
    case 'MISSING_CHAR': {
      const q = /Missing closing (["'])/.exec(message)?.[1];
      if (q) {
        // Unclosed, so the last such quote before the end is the opening one.
        const open = text.lastIndexOf(q, Math.max(0, at - 1));
        const where =
          open >= 0 ? { start: open, end: Math.max(open + 1, Math.min(lineEnd(text, open), span.end)) } : span;
        return {
          diagnostic: diag(
            `This ${q}quoted value is never closed: add the closing \`${q}\`.`,
            abs(firstLine(text, where)),
          ),
          skipUntil: text.length,
        };
      }
      if (/flow sequence/.test(message))
        return {
          diagnostic: diag(
            'Missing `,` between two items of a `[ ]` list: add it, or quote the item if it is text.',
            abs(span),
          ),
        };
      if (/flow map/.test(message))
        return {
          diagnostic: diag(
            'Missing `,` between two entries of a `{ }` mapping (or `: ` after a key): add it, or quote the value if it is text.',
            abs(span),
          ),
        };
      if (/followed by map values/.test(message))
        return {
          diagnostic: diag(
            'A key needs `: ` after it (a colon, then a space or the end of the line): write `key: value`.',
            abs(firstLine(text, span)),
          ),
        };
      return {
        diagnostic: diag('Something is missing here: check the brackets, quotes and `: ` on this line.', abs(span)),
      };
    }
    case 'BLOCK_IN_FLOW':
      return {
        diagnostic: diag(
          'Inside `[ ]` or `{ }` a nested mapping needs braces of its own: write `{ a: { b: c } }`, or quote the value if the `:` is text.',
          abs(span),
        ),
        skipUntil: flowEnd(text, at),
      };
    case 'BAD_DQ_ESCAPE': {
      const escape = text.slice(at, at + 2) || '\\';
      return {
        diagnostic: diag(
          `\`${escape}\` is not an escape in a "double-quoted" value: write \`\\\\\` for a backslash, or use 'single quotes' where backslashes are plain text.`,
          abs(span),
        ),
      };
    }
    case 'KEY_OVER_1024_CHARS':
      return {
        diagnostic: diag(
          'A key runs longer than 1024 characters before its `:`: shorten it (or is a `:` missing on a line above?).',
          abs(firstLine(text, span)),
        ),
      };
    case 'MULTIPLE_ANCHORS':
      return { diagnostic: diag('A value has two anchors (`&a &b`): keep one.', abs(span)) };
    case 'MULTIPLE_TAGS':
      return { diagnostic: diag('A value has two tags (`!a !b`): keep one.', abs(span)) };
    case 'ALIAS_PROPS':
      return {
        diagnostic: diag(
          'An alias (`*name`) stands for a value defined elsewhere: it cannot carry an anchor or a tag; remove the `&` or `!` before it.',
          abs(span),
        ),
      };
    case 'BAD_ALIAS':
      return {
        diagnostic: diag('An alias is `*name`, with the name of an anchor `&name` defined above it.', abs(span)),
      };
    case 'BAD_PROP_ORDER':
      return { diagnostic: diag('Write an anchor (`&a`) or a tag (`!t`) before the value it applies to.', abs(span)) };
    case 'UNEXPECTED_TOKEN':
      return unexpected(message, text, at, span, base);
    default:
      return { diagnostic: diag(fallback(message), abs(span)) };
  }
}

/** A `{` or `[` never closed: marked at the bracket, with a fix quoting the value when it opens a one-line value. */
function unclosed(bracket: '{' | '[', text: string, at: number, span: Span, base: number): Described {
  // yaml reports it where the text ends: the last character written (span.start) is on the bracket's line, if any.
  const last = Math.min(at, span.start);
  const lineStart = text.lastIndexOf('\n', last - 1) + 1;
  const open = text.lastIndexOf(bracket, last);
  const onLine = open >= lineStart;
  const where = onLine ? { start: open, end: open + 1 } : span;
  const what = bracket === '{' ? 'a mapping' : 'a list';
  const close = bracket === '{' ? '}' : ']';
  const message = `This \`${bracket}\` opens ${what} that is never closed: close it with \`${close}\` (lines inside it indented past their key), or quote the value if it is text.`;
  // `run: {a` or `- [x`: the bracket starts the value, so quoting the rest of the line is the likely intent.
  const valueStart = onLine && /(^|:\s|-\s)\s*$/.test(text.slice(lineStart, open));
  const value = valueStart ? plainBlockValue(text, open) : undefined;
  const d = diag(
    message,
    { start: base + where.start, end: base + where.end },
    value ? [{ ...quoteFix(text, value, base), isPreferred: false }] : undefined,
  );
  return { diagnostic: d, skipUntil: onLine ? lineEnd(text, open) : undefined };
}

/** A block value from `start` to the end of its line, before a ` #` comment. */
function plainBlockValue(text: string, start: number): Span {
  let end = lineEnd(text, start);
  const hash = text.slice(start, end).search(/\s#/);
  if (hash >= 0) end = start + hash;
  while (end > start + 1 && /\s/.test(text[end - 1] ?? '')) end--;
  return { start, end };
}

/** The key on the line of `at` (from its first character to its `:`), else the line's text. */
function keyOfLine(text: string, at: number): Span {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const eol = lineEnd(text, at);
  let start = lineStart;
  while (start < eol && /\s/.test(text[start] ?? '')) start++;
  const colon = text.slice(start, eol).search(/:(\s|$)/);
  return firstLine(text, { start, end: colon > 0 ? start + colon : eol });
}

function unexpected(message: string, text: string, at: number, span: Span, base: number): Described {
  const abs = (s: Span): Span => ({ start: base + s.start, end: base + s.end });
  const c = text[at] ?? '';
  const header = /Block scalar header includes extra characters: (.*)$/.exec(message);
  if (header) {
    // yaml points past the indicator (`|x`: at the x): the value starts at the `|` or `>`.
    let start = at;
    while (start > 0 && /[|>0-9+-]/.test(text[start - 1] ?? '') && text[start] !== '|' && text[start] !== '>') start--;
    const indicator = text[start] === '|' || text[start] === '>' ? (text[start] ?? '|') : (header[1]?.[0] ?? c);
    const value = plainValue(text, start);
    const written = text.slice(value.start, value.end);
    return {
      diagnostic: diag(
        `\`${indicator}\` starts a block of text on the following lines: write the text there, indented, or quote the value, write ${quoted(written)}.`,
        abs(value),
        [quoteFix(text, value, base)],
      ),
      skipUntil: value.end,
    };
  }
  if (/^Unexpected , in flow/.test(message))
    return {
      diagnostic: diag(
        'An extra `,` in a `[ ]` list or `{ }` mapping: remove it (or quote the item if it is text).',
        abs(span),
      ),
    };
  if (/block-seq-ind on same line with key/.test(message))
    return {
      diagnostic: diag(
        'A list item `- ` cannot follow a key on its line: put it on the next line, indented under the key.',
        abs(span),
      ),
    };
  const token = /^Unexpected ([a-z-]+)(?: token)?/.exec(message)?.[1] ?? '';
  if (/at node end/.test(message)) {
    if (token === 'scalar')
      return {
        diagnostic: diag(
          'Text after the end of a value (a closing quote or bracket): put all of the value inside the quotes, or remove what follows.',
          abs(span),
        ),
        skipUntil: lineEnd(text, at),
      };
    const sign = tokenText[token] ?? c;
    return {
      diagnostic: diag(`Unexpected \`${sign}\` after a value: quote the whole value if it is text.`, abs(span)),
      skipUntil: lineEnd(text, at),
    };
  }
  const sign = tokenText[token];
  if (sign === ']' || sign === '}')
    return {
      diagnostic: diag(
        `A \`${sign}\` without its \`${sign === ']' ? '[' : '{'}\`: remove it, or quote the value if it is text.`,
        abs(span),
      ),
    };
  if (sign !== undefined)
    return {
      diagnostic: diag(
        `Unexpected \`${sign}\` here: check the indentation and brackets of this line, or quote the value if it is text.`,
        abs(span),
      ),
    };
  return { diagnostic: diag(fallback(message), abs(span)) };
}

/** yaml's own sentence, without its position suffix, when it names nothing of the engine. */
function fallback(message: string): string {
  const sentence = message
    .replace(/ at line \d+, column \d+:?$/, '')
    .replace(/:$/, '')
    .trim();
  if (sentence.length === 0 || engineWords.test(sentence))
    return 'This is not valid YAML: check the indentation, brackets and quotes on this line.';
  return `Not valid YAML: ${sentence.charAt(0).toLowerCase()}${sentence.slice(1)}${/[.!?]$/.test(sentence) ? '' : '.'}`;
}

/** The error's range in `text`; an empty one at the end (an unclosed bracket or quote) marks the last character written. */
function errorSpan(e: YamlError, text: string, at: number): Span {
  let start = at;
  let end = Math.max(start, Math.min(e.pos[1], text.length));
  if (end <= start) {
    let k = start;
    if (k >= text.length || /\s/.test(text[k] ?? '')) {
      while (k > 0 && /\s/.test(text[k - 1] ?? '')) k--;
      start = Math.max(0, k - 1);
      end = k;
    } else end = start + 1;
  }
  // A finding ends at the last character written, not on the spaces after it.
  while (end > start + 1 && /\s/.test(text[end - 1] ?? '')) end--;
  return { start, end };
}

function firstLine(text: string, span: Span): Span {
  const eol = lineEnd(text, span.start);
  let end = Math.min(span.end, eol);
  while (end > span.start + 1 && /\s/.test(text[end - 1] ?? '')) end--;
  return { start: span.start, end: Math.max(end, span.start + 1) };
}

/** The tabs (and spaces among them) of the indentation around `at`. */
function tabRun(text: string, at: number): Span {
  let start = at;
  let end = at;
  while (start > 0 && (text[start - 1] === '\t' || text[start - 1] === ' ')) start--;
  while (end < text.length && (text[end] === '\t' || text[end] === ' ')) end++;
  return { start, end: Math.max(end, start + 1) };
}

// ---------------------------------------------------------------------------------------------------------------
// Nesting

/**
 * The offset where nesting first runs deeper than `maxNesting`, or undefined. A linear estimate from the text alone
 * (indentation levels, `- ` and `? ` indicators, brackets of flow collections), never below the depth yaml will
 * build, so that yaml's recursive composer never sees text deep enough to exhaust the stack. `depth`: the levels
 * around this text (a step parsed apart sits one level inside `steps:`).
 */
export function tooDeepAt(text: string, depth = 0): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote = '';
  // Lines of a block scalar (`|`, `>`) indented past this are text, not structure.
  let scalarIndent = -1;
  for (let ls = 0; ls < text.length;) {
    const le = lineEnd(text, ls);
    let i = ls;
    while (i < le && (text[i] === ' ' || text[i] === '\t' || text[i] === '\ufeff')) i++;
    const indent = i - ls;
    const blank = i >= le || text[i] === '\r' || (text[i] === '#' && flow === 0 && !quote);
    if (scalarIndent >= 0 && (blank || indent > scalarIndent)) {
      ls = le + 1;
      continue;
    }
    scalarIndent = -1;
    if (blank) {
      ls = le + 1;
      continue;
    }
    let level = 0;
    if (flow === 0 && !quote) {
      while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= indent) indents.pop();
      indents.push(indent);
    }
    // At a value's start: `[`/`{` open a flow collection, quotes a quoted scalar, `- `/`? ` a level, `|`/`>` text.
    let valueStart = true;
    for (; i < le; i++) {
      const c = text[i];
      if (quote) {
        if (quote === '"' && c === '\\') i++;
        else if (c === quote) quote = '';
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r') continue;
      if (c === '#' && /\s/.test(text[i - 1] ?? ' ')) break;
      if ((c === '[' || c === '{') && (flow > 0 || valueStart)) {
        flow++;
        if (depth + indents.length + level + flow > maxNesting) return i;
        valueStart = true;
        continue;
      }
      if ((c === ']' || c === '}') && flow > 0) {
        flow--;
        valueStart = false;
        continue;
      }
      if ((c === '"' || c === "'") && valueStart) {
        quote = c;
        valueStart = false;
        continue;
      }
      if (flow === 0 && valueStart && (c === '-' || c === '?') && /\s/.test(text[i + 1] ?? ' ')) {
        level++;
        if (depth + indents.length + level > maxNesting) return i;
        continue;
      }
      if (flow === 0 && valueStart && (c === '|' || c === '>')) {
        scalarIndent = indent;
        break;
      }
      if ((c === ',' && flow > 0) || (c === ':' && /\s/.test(text[i + 1] ?? ' '))) {
        valueStart = true;
        continue;
      }
      valueStart = false;
    }
    if (depth + indents.length + level > maxNesting) return ls + indent;
    ls = le + 1;
  }
  return undefined;
}
