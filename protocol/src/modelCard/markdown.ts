import type { Span } from '../text.js';

/**
 * Just enough Markdown for model cards: headings (ATX and setext, CommonMark rules) outside fenced code blocks and
 * HTML comments, the span of each heading's section, and whether that section says anything.
 */

export type SectionContent = 'empty' | 'placeholder' | 'text';

export interface MarkdownHeading {
  level: number;
  kind: 'atx' | 'setext';
  /** Heading text as written (closing #s and surrounding spaces removed). */
  title: string;
  titleSpan: Span;
  /** The heading itself: the ATX line, or the setext paragraph and its underline (line break excluded). */
  span: Span;
  /** From the line after the heading up to the next heading of the same or a higher level (or the end). */
  contentSpan: Span;
  /** What the content (child headings excluded) holds. */
  content: SectionContent;
}

const fenceOpen = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$/;
const setextUnderline = /^ {0,3}(=+|-+)[ \t]*$/;
const blockStart = /^ {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|\||<\/?[A-Za-z!]|(?:[-*_][ \t]*){3,}$)/;

/**
 * Headings of `text[from, to)`, in document order, with their section spans and content classification.
 * One pass over the lines without keeping them: a 5 MB card has hundreds of thousands, and an object per line (with
 * the garbage collection it caused) was a large share of checking such a card (profiled with node --cpu-prof).
 */
export function scanHeadings(text: string, from: number, to: number): MarkdownHeading[] {
  const found: MarkdownHeading[] = [];
  let fence: { char: string; len: number } | undefined;
  let inComment = false;
  // The paragraph being read (a setext underline turns it into a heading): its first line's start and text, or -1.
  let paragraphStart = -1;
  let paragraphFirst = '';
  let paragraphIsBlock = false;
  // The line before the current one (the last line of an open paragraph).
  let prevStart = from;
  let prevText = '';
  // Next line break at or after the current line's start (-1: none before `to`), found with indexOf, kept across lines.
  let lf = -2;
  let cr = -2;

  for (let start = from, next = from; start < to; prevStart = start, start = next) {
    if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    if (lf >= to) lf = -1;
    if (cr >= to) cr = -1;
    const end = lf < 0 ? (cr < 0 ? to : cr) : cr < 0 ? lf : Math.min(lf, cr);
    next = end;
    if (next < to && text.charCodeAt(next) === 13) next++;
    if (next < to && text.charCodeAt(next) === 10 && (next === end || text.charCodeAt(end) === 13)) next++;
    const t = text.slice(start, end);
    const previous = prevText;
    prevText = t;

    if (fence !== undefined) {
      const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(t);
      if (m?.[1] !== undefined && m[1][0] === fence.char && m[1].length >= fence.len) fence = undefined;
      continue;
    }
    if (inComment) {
      if (t.includes('-->')) inComment = false;
      paragraphStart = -1;
      continue;
    }
    const f = fenceOpen.exec(t);
    if (f?.[1] !== undefined && !(f[1][0] === '`' && (f[2] ?? '').includes('`'))) {
      fence = { char: f[1][0] as string, len: f[1].length };
      paragraphStart = -1;
      continue;
    }
    if (/^ {0,3}<!--/.test(t)) {
      // An HTML comment block runs to the line holding `-->` (CommonMark HTML block type 2).
      const rest = t.slice(t.indexOf('<!--') + 4);
      if (!rest.includes('-->') && !rest.startsWith('>')) inComment = true;
      paragraphStart = -1;
      continue;
    }
    if (t.trim() === '') {
      paragraphStart = -1;
      continue;
    }
    const a = atx.exec(t);
    if (a?.[1] !== undefined) {
      const content = (a[2] ?? '').replace(/(?:^|[ \t]+)#+[ \t]*$/, '').trimEnd();
      const hashEnd = start + t.indexOf('#') + a[1].length;
      const titleStart = content === '' ? hashEnd : start + t.indexOf(content, hashEnd - start);
      found.push(
        heading(a[1].length, 'atx', content, { start: titleStart, end: titleStart + content.length }, { start, end }),
      );
      paragraphStart = -1;
      continue;
    }
    const u = setextUnderline.exec(t);
    if (u?.[1] !== undefined && paragraphStart >= 0 && !paragraphIsBlock) {
      const lead = paragraphFirst.length - paragraphFirst.trimStart().length;
      const titleStart = paragraphStart + lead;
      const titleEnd = prevStart + previous.trimEnd().length;
      const title = text.slice(titleStart, titleEnd).replace(/[ \t]*(\r\n|\r|\n)[ \t]*/g, ' ');
      found.push(
        heading(
          u[1][0] === '=' ? 1 : 2,
          'setext',
          title,
          { start: titleStart, end: titleEnd },
          { start: paragraphStart, end },
        ),
      );
      paragraphStart = -1;
      continue;
    }
    if (/^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/.test(t)) {
      // A thematic break (not underlining a paragraph: that case was a setext heading above) ends the paragraph.
      paragraphStart = -1;
      continue;
    }
    if (paragraphStart < 0) {
      paragraphStart = start;
      paragraphFirst = t;
      // Lists, quotes, tables, HTML, thematic breaks and indented code are not paragraphs a setext line can underline.
      paragraphIsBlock = blockStart.test(t) || /^(?: {4}|\t)/.test(t);
    }
  }

  // The section of heading k ends at the next heading of the same or a higher level: found with a stack in one pass.
  const endIndex = new Array<number>(found.length).fill(found.length);
  const open: number[] = [];
  found.forEach((h, k) => {
    while (open.length > 0 && (found[open[open.length - 1] ?? 0]?.level ?? 0) >= h.level) endIndex[open.pop() ?? 0] = k;
    open.push(k);
  });
  found.forEach((h, k) => {
    const last = endIndex[k] ?? found.length;
    const end = found[last]?.span.start ?? to;
    const contentStart = Math.min(end, nextLineStart(text, h.span.end));
    h.contentSpan = { start: contentStart, end };
    // Its subsections' headings are found[k + 1, last): not content of this section.
    h.content = classifyWithout(text, contentStart, end, found, k + 1, last);
  });
  return found;
}

/** A heading whose section is filled in once every heading is known (all fields set here: one object shape). */
function heading(level: number, kind: 'atx' | 'setext', title: string, titleSpan: Span, span: Span): MarkdownHeading {
  return { level, kind, title, titleSpan, span, contentSpan: { start: span.end, end: span.end }, content: 'empty' };
}

function nextLineStart(text: string, offset: number): number {
  let o = offset;
  if (text.charCodeAt(o) === 13) o++;
  if (text.charCodeAt(o) === 10) o++;
  return o;
}

const PH = '\u0001';
/** Template noise: HTML comments, Jinja, the Hub's "[More Information Needed]", "[optional]" markers. */
const placeholderPattern =
  /<!--[\s\S]*?(?:-->|$)|<!-->|\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}|\[\s*more information needed\s*\]|more information needed\.?|[[(]\s*optional\s*[\])]/gi;
const todoWords = /^(?:todo|tbd|tba|n\/?a|fixme|xxx|to do|to be determined|coming soon|wip)$/i;

/**
 * Classifies `text[start, end)` minus the `skip` spans (child headings): 'empty' when only blank, 'placeholder' when
 * only template noise (comments, Jinja, "[More Information Needed]", TODO/TBD/N/A, "**Label:**" lines with no value),
 * else 'text'.
 */
export function classifyContent(text: string, start: number, end: number, skip: Span[] = []): SectionContent {
  return classifyWithout(
    text,
    start,
    end,
    skip.map((span) => ({ span })),
    0,
    skip.length,
  );
}

/** `classifyContent` skipping the spans of `heads[from, to)` (in document order). */
function classifyWithout(
  text: string,
  start: number,
  end: number,
  heads: ReadonlyArray<{ span: Span }>,
  from: number,
  to: number,
): SectionContent {
  let body = '';
  let at = start;
  for (let k = from; k < to; k++) {
    const s = (heads[k] as { span: Span }).span;
    if (s.start < at || s.start >= end) continue;
    body += text.slice(at, s.start) + '\n';
    at = Math.min(end, s.end);
  }
  body += text.slice(at, end);
  if (body.trim() === '') return 'empty';
  const marked = body.replace(placeholderPattern, PH);
  let sawPlaceholder = false;
  // Line by line, stopping at the first line of text (most sections have one near their start).
  const lineBreak = /\r\n|\r|\n/g;
  for (let at = 0; at <= marked.length;) {
    const br = lineBreak.exec(marked);
    const rawLine = marked.slice(at, br === null ? marked.length : br.index);
    at = br === null ? marked.length + 1 : br.index + br[0].length;
    const hadPh = rawLine.includes(PH);
    // Copies are made only when there is something to replace: a line can be megabytes long.
    const unmarked = hadPh ? rawLine.split(PH).join(' ') : rawLine;
    const line = (unmarked.includes('<') ? unmarked.replace(/<\/?[A-Za-z][^>]*>/g, ' ') : unmarked).trim();
    if (!/[^-*+>|`_~#:.\s]/.test(line)) {
      if (hadPh) sawPlaceholder = true;
      continue;
    }
    // "- **Developed by:**" with nothing (or only a placeholder) after the label.
    if (/^(?:[-*+]|\d+[.)])?\s*(?:\*\*|__)?[^:]{1,80}:\s*(?:\*\*|__)?\s*$/.test(line)) {
      sawPlaceholder = true;
      continue;
    }
    const words = line
      .replace(/^(?:[-*+>]|\d+[.)])\s*/, '')
      .replace(/[*_`~.!:]+/g, '')
      .trim();
    if (todoWords.test(words)) {
      sawPlaceholder = true;
      continue;
    }
    return 'text';
  }
  return sawPlaceholder ? 'placeholder' : 'empty';
}
