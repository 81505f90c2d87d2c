import { mapGet, type PipelineDocument } from '@cairn/protocol';
import type { OutlineSymbol } from '../types.js';
import { formatValue } from './docs.js';

/** The outline: top-level keys; params, data and steps (with their outputs) as children. */
export function outline(doc: PipelineDocument): OutlineSymbol[] {
  const out: OutlineSymbol[] = [];
  const root = doc.root;
  if (!root) return out;
  const section = (key: string, kind: OutlineSymbol['kind'], children: OutlineSymbol[]) => {
    const e = mapGet(root, key);
    if (e) out.push({ name: key, kind, span: e.span, selectionSpan: e.keySpan, children });
  };
  for (const e of root.entries) {
    switch (e.key) {
      case 'params':
        section(
          'params',
          'namespace',
          [...doc.symbols.params.values()].map((p) => ({
            name: p.name,
            detail: `${p.type} = ${p.secret ? '••••' : formatValue(p.value)}`,
            kind: 'variable',
            span: p.span,
            selectionSpan: p.keySpan,
            children: [],
          })),
        );
        break;
      case 'data':
        section(
          'data',
          'namespace',
          [...doc.symbols.data.values()].map((d) => ({
            name: d.name,
            detail: d.path ?? d.from,
            kind: 'file',
            span: d.span,
            selectionSpan: d.keySpan,
            children: [],
          })),
        );
        break;
      case 'steps':
        section(
          'steps',
          'namespace',
          [...doc.symbols.steps.values()].map((s) => ({
            name: s.name,
            detail: s.uses ?? 'run',
            kind: 'function',
            span: s.span,
            selectionSpan: s.keySpan,
            children: [...s.outputs.values()].map((o) => ({
              name: o.name,
              detail: o.path,
              kind: 'field',
              span: o.span,
              selectionSpan: o.keySpan,
              children: [],
            })),
          })),
        );
        break;
      case 'deploy':
        section('deploy', 'event', []);
        break;
      default:
        out.push({ name: e.key, kind: 'property', span: e.span, selectionSpan: e.keySpan, children: [] });
    }
  }
  return out;
}
