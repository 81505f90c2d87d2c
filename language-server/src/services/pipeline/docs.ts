import {
  describeType,
  getBuiltin,
  objectKeys,
  pipelineSchema,
  schemaAt,
  unwrap,
  withinSpan,
  type BuiltinSpec,
  type PipelineDocument,
  type StepInfo,
} from '@cairn/protocol';
import type { z } from 'zod';

/** What completion and hover both say about built-ins, options, keys and params (Markdown). */

export function stepOf(doc: PipelineDocument, offset: number): StepInfo | undefined {
  for (const s of doc.symbols.steps.values()) if (withinSpan(s.span, offset)) return s;
  return undefined;
}

export function builtinOf(doc: PipelineDocument, stepName: string | number | undefined): BuiltinSpec | undefined {
  const s = typeof stepName === 'string' ? doc.symbols.steps.get(stepName) : undefined;
  return s?.uses ? getBuiltin(s.uses) : undefined;
}

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  // A param without a default: never the word `undefined`.
  if (v === undefined) return '(no default)';
  // Values come from YAML, so JSON can write them all.
  return JSON.stringify(v) ?? '';
}

export function optionsOf(spec: BuiltinSpec): Record<string, z.ZodType> {
  return spec.options.shape as Record<string, z.ZodType>;
}

export function builtinDoc(spec: BuiltinSpec): string {
  const lines = [
    `**${spec.name}** (built-in, ${spec.category}, v${spec.version})`,
    '',
    spec.summary,
    '',
    '**Options**',
  ];
  for (const [name, schema] of Object.entries(optionsOf(spec))) lines.push(`- ${optionLine(name, schema)}`);
  const outputs = Object.entries(spec.outputs);
  lines.push(
    '',
    '**Outputs**',
    ...(outputs.length > 0
      ? outputs.map(([n, o]) => `- \`${n}\` (${o.file}): ${o.description}${o.optional ? ' (optional)' : ''}`)
      : ['- none']),
  );
  if (spec.metrics.length > 0) lines.push('', `**Metrics**: ${spec.metrics.map((m) => `\`${m}\``).join(', ')}`);
  return lines.join('\n');
}

export function optionLine(name: string, schema: z.ZodType): string {
  const info = unwrap(schema);
  const required = !info.optional;
  const def = info.hasDefault ? `, default \`${formatValue(info.defaultValue)}\`` : '';
  return `\`${name}\` (${describeType(info.schema)}${required ? ', required' : ''}${def})${info.description ? `: ${info.description}` : ''}`;
}

export function keyDoc(key: string, schema: z.ZodType): string {
  const info = unwrap(schema);
  const def = info.hasDefault ? `\n\nDefault: \`${formatValue(info.defaultValue)}\`` : '';
  return `**${key}** — ${describeType(info.schema)}${info.optional ? '' : ' (required)'}\n\n${info.description ?? ''}${def}`.trim();
}

/** The schema of the mapping at `path`, with built-in options and gates resolved per step. */
export function mappingSchema(
  doc: PipelineDocument,
  p: ReadonlyArray<string | number>,
): Record<string, z.ZodType> | undefined {
  if (p[0] === 'steps' && p.length >= 3 && p[2] === 'with') {
    const spec = builtinOf(doc, p[1]);
    if (!spec) return undefined;
    if (p.length === 3) return optionsOf(spec);
    const info = schemaAt(spec.options, p.slice(3));
    return info ? objectKeys(info.schema) : undefined;
  }
  if (p[0] === 'params' && p.length === 2)
    return objectKeys(unwrap(schemaAt(pipelineSchema, ['params', 'x'])?.schema ?? pipelineSchema).schema);
  const info = schemaAt(
    pipelineSchema,
    p.map((k) => (typeof k === 'number' ? k : k)),
  );
  return info ? objectKeys(info.schema) : undefined;
}

export function paramDoc(name: string, doc: PipelineDocument): string {
  const p = doc.symbols.params.get(name);
  if (!p) return `Unknown param \`${name}\``;
  const value = p.secret
    ? '•••• (secret)'
    : p.value === undefined
      ? '(no default: pass `-p ' + name + '=VALUE`)'
      : `\`${formatValue(p.value)}\``;
  return [
    `**param ${name}**: ${p.type} = ${value}`,
    ...(p.description ? ['', p.description] : []),
    '',
    `Override per run: \`cairn run -p ${name}=VALUE\``,
  ].join('\n');
}
