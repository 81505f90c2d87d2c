import { namePattern, type PipelineDocument, type Span } from '@cairn/protocol';
import type { FileEdit, RenameResult } from '../types.js';
import { declaration, targetAt, usesOf } from './targets.js';

/** The span of the name rename would change at `offset`: a step, param, data entry or command-step output. */
export function prepareRenameAt(doc: PipelineDocument, offset: number): Span | undefined {
  const t = targetAt(doc, offset);
  if (!t) return undefined;
  // Built-in outputs are named by the catalogue, and list-form outputs by their file: neither can be renamed here.
  if (t.kind === 'output') {
    const s = doc.symbols.steps.get(t.step);
    const o = s?.outputs.get(t.name);
    if (!s || s.kind !== 'run' || !o || doc.text.slice(o.keySpan.start, o.keySpan.end) !== t.name) return undefined;
  }
  return declaration(doc, t) ? t.span : undefined;
}

/** Renames the declaration and every use, or says why it cannot. */
export function renameAt(doc: PipelineDocument, offset: number, newName: string): RenameResult {
  const t = targetAt(doc, offset);
  if (!t || prepareRenameAt(doc, offset) === undefined)
    return { error: 'Nothing to rename here: put the cursor on a step, param, data entry or command-step output.' };
  if (!namePattern.test(newName))
    return {
      error: `'${newName}' is not a valid name: use letters, digits, '_' and '-', starting with a letter or '_'.`,
    };
  let taken: boolean;
  switch (t.kind) {
    case 'param':
      taken = doc.symbols.params.has(newName);
      break;
    case 'data':
      taken = doc.symbols.data.has(newName);
      break;
    case 'step':
      taken = doc.symbols.steps.has(newName);
      break;
    case 'output':
      taken = doc.symbols.steps.get(t.step)?.outputs.has(newName) === true;
  }
  if (taken && newName !== t.name) return { error: `'${newName}' already exists.` };
  const decl = declaration(doc, t);
  const spans = [...(decl ? [decl] : []), ...usesOf(doc, t)];
  const edits: FileEdit[] = spans.map((span) => ({ file: doc.file, span, newText: newName }));
  return { edits };
}
