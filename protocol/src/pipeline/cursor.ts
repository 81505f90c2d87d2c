import type { LineIndex, Span } from '../text.js';
import { interpolationAt } from './interpolation.js';
import type { NodeLocation } from './model.js';
import type { YMap, YNode } from './yamlTree.js';

/**
 * Cursor queries: where an offset falls in a pipeline (a key, a value, an interpolation, or empty space where a new
 * key would go), for completion and hover. A function of the tree and the text only.
 */

/** What a cursor query looks at. */
export interface CursorDocument {
  text: string;
  lines: LineIndex;
  root: YMap | undefined;
}

/** The offset is inside the span or at either end. */
export function withinSpan(s: Span, o: number): boolean {
  return o >= s.start && o <= s.end;
}

/** Where `offset` falls in the structure; from indentation alone where the tree cannot say. */
export function locateOffset(doc: CursorDocument, offset: number): NodeLocation | undefined {
  const text = doc.text;
  const path: Array<string | number> = [];
  let node: YNode | undefined = doc.root;
  while (node) {
    let next: YNode | undefined;
    if (node.kind === 'map') {
      for (const e of node.entries) {
        if (withinSpan(e.keySpan, offset)) {
          // A half-typed key runs into the next line as one multi-line key: the text tells better.
          if (/[\r\n]/.test(text.slice(e.keySpan.start, e.keySpan.end))) return textLocation(doc, offset);
          return { path: [...path, e.key], on: 'key', span: e.keySpan };
        }
        if (e.value.span.end > e.value.span.start && withinSpan(e.value.span, offset) && offset > e.keySpan.end) {
          path.push(e.key);
          next = e.value;
          break;
        }
        // `key: |` with nothing typed yet (also inside `{ ... }`).
        if (
          e.value.kind === 'scalar' &&
          e.value.value === null &&
          offset >= e.value.span.start &&
          /^[ ]*$/.test(text.slice(e.value.span.start, offset))
        ) {
          return { path: [...path, e.key], on: 'value', span: { start: offset, end: offset } };
        }
      }
    } else if (node.kind === 'seq') {
      for (let i = 0; i < node.items.length; i++) {
        const item = node.items[i];
        if (item && item.span.end > item.span.start && withinSpan(item.span, offset)) {
          path.push(i);
          next = item;
          break;
        }
      }
    } else {
      const interp = interpolationAt(text, offset, node.span);
      return { path, on: 'value', span: node.span, ...(interp ? { interpolation: interp } : {}) };
    }
    if (!next) break;
    node = next;
  }
  return textLocation(doc, offset);
}

/**
 * Where a new key or value would go, from indentation alone (the tree cannot say: a half-typed key is not YAML yet).
 * Walks up from the cursor's line to the keys with smaller indentation.
 */
function textLocation(doc: CursorDocument, offset: number): NodeLocation | undefined {
  const text = doc.text;
  const pos = doc.lines.positionAt(offset);
  const lineStart = offset - pos.character;
  const lineText = text.slice(lineStart, offset);
  const indentMatch = /^( *)(- )?/.exec(lineText);
  let indent = indentMatch ? (indentMatch[1]?.length ?? 0) : 0;
  const afterIndent = lineText.slice(indent);
  const keyValue = /^(- )?([A-Za-z0-9_.@-]+)\s*:\s*(.*)$/.exec(afterIndent);
  const chain: string[] = [];
  if (keyValue) chain.push(keyValue[2] ?? '');
  if (indentMatch?.[2]) indent += 2;
  let want = indent;
  for (let line = pos.line - 1; line >= 0 && want > 0; line--) {
    const s = doc.lines.offsetAt({ line, character: 0 });
    const e = doc.lines.offsetAt({ line: line + 1, character: 0 });
    const l = text.slice(s, e).replace(/\r?\n$/, '');
    const m = /^( *)(- +)?([A-Za-z0-9_.@"'-]+)\s*:/.exec(l);
    if (!m) continue;
    const ind = (m[1]?.length ?? 0) + (m[2]?.length ?? 0);
    if (ind < want) {
      chain.unshift((m[3] ?? '').replace(/["']/g, ''));
      want = m[1]?.length ?? 0;
      if (m[2]) want = m[1]?.length ?? 0;
    }
  }
  const wordStart = lineStart + indent + (keyValue ? 0 : 0);
  if (keyValue) {
    const valueText = keyValue[3] ?? '';
    const vStart = offset - valueText.length;
    const interp = interpolationAt(text, offset, {
      start: lineStart,
      end: doc.lines.offsetAt({ line: pos.line + 1, character: 0 }),
    });
    return {
      path: chain,
      on: 'value',
      span: { start: vStart, end: offset },
      ...(interp ? { interpolation: interp } : {}),
    };
  }
  const typed = /^[A-Za-z0-9_.@-]*$/.test(afterIndent) ? afterIndent : '';
  return { path: chain, on: 'newKey', span: { start: Math.min(wordStart, offset), end: wordStart + typed.length } };
}
