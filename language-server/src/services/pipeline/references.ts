import type { PipelineDocument } from '@cairn/protocol';
import type { FileSpan } from '../types.js';
import { declaration, targetAt, usesOf } from './targets.js';

/** Find references: every use of the name at the cursor, its declaration first when asked. */
export function referencesAt(doc: PipelineDocument, offset: number, includeDeclaration: boolean): FileSpan[] {
  const t = targetAt(doc, offset);
  if (!t) return [];
  const spans = usesOf(doc, t);
  const decl = declaration(doc, t);
  if (includeDeclaration && decl) spans.unshift(decl);
  return spans.map((span): FileSpan => ({ file: doc.file, span }));
}
