import type { Span } from '../text.js';
import type { PipelineReference } from './model.js';

/**
 * `${params.x}`, `${data.d}`, `${steps.s.outputs.o}` inside string values; `$${` writes a literal `${`.
 * Scanning works on the raw source text of a scalar, so offsets are exact even in quoted or block scalars.
 */
export interface InterpolationError {
  span: Span;
  message: string;
}

const namePart = /[A-Za-z0-9_-]/;

export const interpolationForms = '`${params.NAME}`, `${data.NAME}` or `${steps.STEP.outputs.OUTPUT}`';

export function scanInterpolations(
  text: string,
  start: number,
  end: number,
  refs: PipelineReference[],
  errors: InterpolationError[],
): void {
  let i = text.indexOf('${', start);
  while (i >= 0 && i < end - 1) {
    if (i > start && text.charCodeAt(i - 1) === 36 /* $ */) {
      i = text.indexOf('${', i + 2);
      continue;
    }
    const close = findClose(text, i + 2, end);
    if (close < 0) {
      const eol = lineEnd(text, i, end);
      errors.push({
        span: { start: i, end: eol },
        message: `Unterminated interpolation: close it with '}' (${interpolationForms}).`,
      });
      return;
    }
    parseReference(text, i, close, refs, errors);
    i = text.indexOf('${', close + 1);
  }
}

function findClose(text: string, from: number, end: number): number {
  for (let j = from; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c === 125 /* } */) return j;
    if (c === 10 || c === 13 || c === 123 /* { */) return -1;
  }
  return -1;
}

function lineEnd(text: string, from: number, end: number): number {
  for (let j = from; j < end; j++) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) return j;
  }
  return end;
}

interface Segment {
  name: string;
  span: Span;
}

function parseReference(
  text: string,
  open: number,
  close: number,
  refs: PipelineReference[],
  errors: InterpolationError[],
): void {
  const span = { start: open, end: close + 1 };
  const segments: Segment[] = [];
  let j = open + 2;
  while (j < close && text[j] === ' ') j++;
  let innerEnd = close;
  while (innerEnd > j && text[innerEnd - 1] === ' ') innerEnd--;
  let segStart = j;
  for (; j <= innerEnd; j++) {
    if (j === innerEnd || text[j] === '.') {
      segments.push({ name: text.slice(segStart, j), span: { start: segStart, end: j } });
      segStart = j + 1;
    } else if (!namePart.test(text[j] ?? '')) {
      errors.push({
        span,
        message: `Invalid character '${text[j] ?? ''}' in interpolation: use ${interpolationForms}.`,
      });
      return;
    }
  }
  const empty = segments.find((s) => s.name === '');
  if (segments.length === 0 || empty) {
    errors.push({ span, message: `Empty name in interpolation: use ${interpolationForms}.` });
    return;
  }
  const [ns, a, b, c] = segments;
  if (!ns) return;
  if ((ns.name === 'params' || ns.name === 'data') && a && segments.length === 2) {
    refs.push({ kind: ns.name === 'params' ? 'param' : 'data', name: a.name, nameSpan: a.span, span });
    return;
  }
  if (ns.name === 'steps' && a && b && c && segments.length === 4 && b.name === 'outputs') {
    refs.push({ kind: 'output', step: a.name, name: c.name, stepSpan: a.span, nameSpan: c.span, span });
    return;
  }
  if (ns.name === 'steps' && a && segments.length === 2) {
    errors.push({
      span,
      message: `A step is not a value: name one of its outputs, \`\${steps.${a.name}.outputs.OUTPUT}\`.`,
    });
    return;
  }
  if (ns.name === 'param' || ns.name === 'step' || ns.name === 'output' || ns.name === 'outputs') {
    errors.push({ span, message: `Unknown namespace '${ns.name}': use ${interpolationForms}.` });
    return;
  }
  errors.push({
    span,
    message: `Cannot interpolate '${text.slice(open + 2, close).trim()}': use ${interpolationForms}.`,
  });
}

/** The reference when a string is exactly one interpolation (its value then keeps the referenced value's type). */
export function exactInterpolation(value: string): string | undefined {
  const m = /^\$\{\s*([A-Za-z0-9_.-]+)\s*\}$/.exec(value);
  return m?.[1];
}

/** Replaces every `${...}` through `lookup`; `$${` becomes a literal `${`. */
export function interpolate(value: string, lookup: (ref: string) => string | undefined): string {
  return value.replace(/\$?\$\{\s*([^}]*?)\s*\}/g, (m: string, ref: string) => {
    if (m.startsWith('$$')) return m.slice(1);
    return lookup(ref) ?? m;
  });
}

/** The interpolation an offset is inside (after `${`), with the text typed before the offset, for completion. */
export function interpolationAt(
  text: string,
  offset: number,
  scalar: Span,
): { span: Span; prefix: string } | undefined {
  const from = Math.max(scalar.start, offset - 200);
  const open = text.lastIndexOf('${', offset - 1);
  if (open < from || open + 2 > offset) return undefined;
  const between = text.slice(open + 2, offset);
  if (/[}\n\r]/.test(between)) return undefined;
  let end = offset;
  while (
    end < scalar.end &&
    end < text.length &&
    text[end] !== '}' &&
    text[end] !== '\n' &&
    text[end] !== ' ' &&
    text[end] !== '"' &&
    text[end] !== "'"
  )
    end++;
  if (text[end] === '}') end++;
  return { span: { start: open, end }, prefix: between.trimStart() };
}
