import * as path from 'node:path';
import { pathUses, withinSpan, type PipelineDocument, type PipelineReference, type Span } from '@cairn/protocol';

/** What sits at an offset (a reference or a declaration), where it is declared and used: shared by navigation and rename. */

export type Target =
  | { kind: 'param' | 'data' | 'step'; name: string; span: Span }
  | { kind: 'output'; step: string; name: string; span: Span };

export function resolveBeside(file: string, relative: string): string {
  return path.resolve(path.dirname(file), relative);
}

export function referenceAt(doc: PipelineDocument, offset: number): PipelineReference | undefined {
  for (const r of doc.references) if (withinSpan(r.span, offset)) return r;
  return undefined;
}

export function targetAt(doc: PipelineDocument, offset: number): Target | undefined {
  const r = referenceAt(doc, offset);
  if (r) {
    if (r.kind === 'output') {
      if (withinSpan(r.stepSpan, offset)) return { kind: 'step', name: r.step, span: r.stepSpan };
      return { kind: 'output', step: r.step, name: r.name, span: r.nameSpan };
    }
    return { kind: r.kind, name: r.name, span: r.nameSpan };
  }
  for (const p of doc.symbols.params.values())
    if (withinSpan(p.keySpan, offset)) return { kind: 'param', name: p.name, span: p.keySpan };
  for (const d of doc.symbols.data.values())
    if (withinSpan(d.keySpan, offset)) return { kind: 'data', name: d.name, span: d.keySpan };
  for (const s of doc.symbols.steps.values()) {
    if (withinSpan(s.keySpan, offset)) return { kind: 'step', name: s.name, span: s.keySpan };
    if (!withinSpan(s.span, offset)) continue;
    for (const o of s.outputs.values())
      if (withinSpan(o.keySpan, offset) && s.kind === 'run')
        return { kind: 'output', step: s.name, name: o.name, span: o.keySpan };
  }
  return undefined;
}

/** Where a target is declared. */
export function declaration(doc: PipelineDocument, t: Target): Span | undefined {
  switch (t.kind) {
    case 'param':
      return doc.symbols.params.get(t.name)?.keySpan;
    case 'data':
      return doc.symbols.data.get(t.name)?.keySpan;
    case 'step':
      return doc.symbols.steps.get(t.name)?.keySpan;
    case 'output':
      return doc.symbols.steps.get(t.step)?.outputs.get(t.name)?.keySpan;
  }
}

/** Every use of a target (the spans of the name only). */
export function usesOf(doc: PipelineDocument, t: Target): Span[] {
  const out: Span[] = [];
  for (const r of doc.references) {
    if (t.kind === 'output' && r.kind === 'output' && r.step === t.step && r.name === t.name) out.push(r.nameSpan);
    else if (t.kind === 'step' && r.kind === 'output' && r.step === t.name) out.push(r.stepSpan);
    else if (t.kind !== 'output' && r.kind === t.kind && r.name === t.name) out.push(r.nameSpan);
  }
  return out;
}

/** The files the pipeline reads (data, dependencies, built-in inputs, the deploy block's card, model and reference). */
export function filesRead(doc: PipelineDocument): Array<{ value: string; span: Span }> {
  return pathUses(doc.symbols, doc.root)
    .filter((u) => u.role !== 'write')
    .map((u) => ({ value: u.value, span: u.node.span }));
}
