import {
  builtins,
  describeType,
  enumValues,
  getBuiltin,
  nodeAtPath,
  pipelineSchema,
  schemaAt,
  unwrap,
  type PipelineDocument,
  type Span,
} from '@cairn/protocol';
import type { z } from 'zod';
import type { Completion } from '../types.js';
import { builtinDoc, builtinOf, formatValue, keyDoc, mappingSchema, optionLine, stepOf } from './docs.js';

/** Completion: keys of the mapping at the cursor, values of enums, built-in names, and `${...}` references. */
export function completionsAt(doc: PipelineDocument, offset: number): Completion[] {
  const loc = doc.nodeAt(offset);
  if (!loc) return keyCompletions(doc, [], undefined, { start: offset, end: offset });
  if (loc.interpolation) return referenceCompletions(doc, loc.interpolation.prefix, offset);
  const p = loc.path;
  if (loc.on === 'value') return valueCompletions(doc, p, loc.span);
  const mapPath = loc.on === 'key' ? p.slice(0, -1) : p;
  const current = loc.on === 'key' ? String(p[p.length - 1]) : undefined;
  return keyCompletions(doc, mapPath, current, loc.span);
}

function wordEnd(text: string, offset: number): number {
  let e = offset;
  while (e < text.length && /[A-Za-z0-9_-]/.test(text[e] ?? '')) e++;
  return e;
}

function referenceCompletions(doc: PipelineDocument, prefix: string, offset: number): Completion[] {
  const parts = prefix.split('.');
  const last = parts[parts.length - 1] ?? '';
  const replace = { start: offset - last.length, end: wordEnd(doc.text, offset) };
  const out: Completion[] = [];
  if (parts.length === 1) {
    for (const [ns, doc_] of [
      ['params', 'A param: `${params.NAME}`'],
      ['data', "A data entry's path: `${data.NAME}`"],
      ['steps', "Another step's output: `${steps.STEP.outputs.OUTPUT}`"],
    ] as const)
      out.push({ label: ns, kind: 'snippet', documentation: doc_, insertText: `${ns}.`, replace });
    return out;
  }
  const [ns, a] = parts;
  if (ns === 'params' && parts.length === 2)
    for (const p of doc.symbols.params.values())
      out.push({
        label: p.name,
        kind: 'param',
        detail: `${p.type} = ${p.secret ? '••••' : formatValue(p.value)}`,
        documentation: p.description,
        replace,
      });
  else if (ns === 'data' && parts.length === 2)
    for (const d of doc.symbols.data.values())
      out.push({ label: d.name, kind: 'data', detail: d.path ?? d.from, replace });
  else if (ns === 'steps' && parts.length === 2) {
    const here = stepOf(doc, offset)?.name;
    for (const s of doc.symbols.steps.values())
      if (s.name !== here)
        out.push({
          label: s.name,
          kind: 'step',
          detail: s.uses ?? 'command',
          insertText: `${s.name}.outputs.`,
          replace,
        });
  } else if (ns === 'steps' && parts.length === 3)
    out.push({ label: 'outputs', kind: 'property', insertText: 'outputs.', replace });
  else if (ns === 'steps' && parts.length === 4 && parts[2] === 'outputs') {
    const s = a === undefined ? undefined : doc.symbols.steps.get(a);
    const spec = s?.uses ? getBuiltin(s.uses) : undefined;
    for (const o of s?.outputs.values() ?? [])
      out.push({
        label: o.name,
        kind: 'output',
        detail: o.path,
        documentation: spec?.outputs[o.name]?.description,
        replace,
      });
  }
  return out;
}

function valueCompletions(doc: PipelineDocument, p: ReadonlyArray<string | number>, span: Span): Completion[] {
  const out: Completion[] = [];
  const last = p[p.length - 1];
  if (p[0] === 'steps' && p.length === 3 && last === 'uses') {
    for (const b of builtins)
      out.push({ label: b.name, kind: 'builtin', detail: b.category, documentation: builtinDoc(b), replace: span });
    return out;
  }
  if (p[0] === 'steps' && (p[2] === 'needs' || (p.length === 3 && last === 'needs'))) {
    for (const s of doc.symbols.steps.values())
      if (s.name !== p[1]) out.push({ label: s.name, kind: 'step', detail: s.uses ?? 'command', replace: span });
    return out;
  }
  if (p[0] === 'steps' && p[2] === 'params') {
    for (const prm of doc.symbols.params.values())
      out.push({ label: prm.name, kind: 'param', detail: prm.type, replace: span });
    return out;
  }
  let schema: z.ZodType | undefined;
  if (p[0] === 'steps' && p[2] === 'with' && p.length >= 4) {
    const spec = builtinOf(doc, p[1]);
    schema = spec ? schemaAt(spec.options, p.slice(3))?.schema : undefined;
  } else schema = schemaAt(pipelineSchema, p)?.schema;
  if (!schema) return out;
  for (const v of enumValues(schema) ?? []) out.push({ label: String(v), kind: 'value', replace: span });
  if (describeType(schema) === 'true or false')
    for (const v of ['true', 'false']) out.push({ label: v, kind: 'value', replace: span });
  return out;
}

function keyCompletions(
  doc: PipelineDocument,
  mapPath: ReadonlyArray<string | number>,
  current: string | undefined,
  span: Span,
): Completion[] {
  const out: Completion[] = [];
  const present = new Set<string>();
  const node = nodeAtPath(doc.root, mapPath);
  if (node?.kind === 'map') for (const e of node.entries) if (e.key !== current) present.add(e.key);
  // Gates: the metrics the step's built-in reports.
  if (mapPath[0] === 'steps' && mapPath.length === 3 && mapPath[2] === 'gate') {
    const spec = builtinOf(doc, mapPath[1]);
    for (const m of spec?.metrics ?? [])
      if (!present.has(m))
        out.push({
          label: m,
          kind: 'metric',
          detail: `${spec?.name ?? ''} metric`,
          insertText: `${m}: { min: \${1:0} }`,
          snippet: true,
          replace: span,
        });
    return out;
  }
  // A new step or param: nothing to complete (names are the user's).
  if (
    (mapPath.length === 1 && (mapPath[0] === 'steps' || mapPath[0] === 'params' || mapPath[0] === 'data')) ||
    (mapPath[0] === 'deploy' && mapPath[1] === 'monitor' && mapPath[2] === 'drift')
  )
    return out;
  const keys = mappingSchema(doc, mapPath);
  if (!keys) return out;
  const spec = mapPath[0] === 'steps' && mapPath[2] === 'with' ? builtinOf(doc, mapPath[1]) : undefined;
  for (const [key, schema] of Object.entries(keys)) {
    if (present.has(key)) continue;
    const info = unwrap(schema);
    const type = describeType(info.schema);
    const nested = type === 'a mapping' || type === 'a list';
    out.push({
      label: key,
      kind: 'property',
      detail: info.hasDefault
        ? `${type}, default ${formatValue(info.defaultValue)}`
        : `${type}${info.optional ? '' : ' (required)'}`,
      documentation: spec ? `${optionLine(key, schema)}\n\n_${spec.name}_` : keyDoc(key, schema),
      insertText: nested && type === 'a mapping' ? `${key}:\n  ` : `${key}: `,
      replace: span,
      sortText: `${info.optional ? '1' : '0'}${key}`,
    });
  }
  return out;
}
