import { withinSpan, type PipelineDocument } from '@cairn/protocol';
import type { FileSpan } from '../types.js';
import { declaration, filesRead, resolveBeside, targetAt } from './targets.js';

/** Go to definition: a name's declaration, or the file a path names. */
export function definitionAt(doc: PipelineDocument, offset: number): FileSpan[] {
  const t = targetAt(doc, offset);
  if (t) {
    const span = declaration(doc, t);
    return span ? [{ file: doc.file, span }] : [];
  }
  for (const p of filesRead(doc))
    if (withinSpan(p.span, offset)) return [{ file: resolveBeside(doc.file, p.value), span: { start: 0, end: 0 } }];
  return [];
}
