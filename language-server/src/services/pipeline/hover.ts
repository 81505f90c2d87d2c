import {
  deploySchema,
  getBuiltin,
  schemaAt,
  stepSchema,
  withinSpan,
  type PipelineDocument,
  type PipelineReference,
} from '@cairn/protocol';
import type { z } from 'zod';
import type { Hover } from '../types.js';
import { builtinDoc, builtinOf, keyDoc, mappingSchema, optionLine, optionsOf, paramDoc } from './docs.js';
import { referenceAt } from './targets.js';

/** Hover: a reference's target, a built-in's docs, a key's schema (an option's with its default). */
export function hoverAt(doc: PipelineDocument, offset: number): Hover | undefined {
  const r = referenceAt(doc, offset);
  if (r) return { contents: referenceDoc(doc, r, offset), span: r.span };
  const loc = doc.nodeAt(offset);
  if (!loc) return undefined;
  const p = loc.path;
  if (loc.on === 'value' && p[0] === 'steps' && p.length === 3 && p[2] === 'uses') {
    const s = typeof p[1] === 'string' ? doc.symbols.steps.get(p[1]) : undefined;
    const spec = s?.uses ? getBuiltin(s.uses) : undefined;
    return spec ? { contents: builtinDoc(spec), span: loc.span } : undefined;
  }
  if (loc.on !== 'key') return undefined;
  const key = String(p[p.length - 1]);
  if (p.length === 2 && p[0] === 'steps') {
    const s = doc.symbols.steps.get(key);
    if (!s) return undefined;
    const spec = s.uses ? getBuiltin(s.uses) : undefined;
    const outs = [...s.outputs.values()].map((o) => `- \`${o.name}\` → \`${o.path}\``);
    return {
      contents: [
        `**step ${key}** — ${spec ? `\`${spec.name}\`: ${spec.summary}` : 'command step'}`,
        ...(outs.length > 0 ? ['', '**Outputs**', ...outs] : []),
      ].join('\n'),
      span: loc.span,
    };
  }
  if (p.length === 2 && p[0] === 'params') {
    const prm = doc.symbols.params.get(key);
    if (prm) return { contents: paramDoc(prm.name, doc), span: loc.span };
  }
  if (p[0] === 'steps' && p.length === 4 && p[2] === 'gate') {
    const spec = builtinOf(doc, p[1]);
    return {
      contents: `**${key}** — a metric ${spec ? `reported by \`${spec.name}\`` : 'the step reports'}; the run fails outside \`min\`/\`max\`.`,
      span: loc.span,
    };
  }
  let schema: z.ZodType | undefined;
  if (p[0] === 'steps' && p[2] === 'with' && p.length >= 4) {
    const spec = builtinOf(doc, p[1]);
    schema = spec ? schemaAt(spec.options, p.slice(3))?.schema : undefined;
    if (spec && p.length === 4) {
      const opt = optionsOf(spec)[key];
      if (opt) return { contents: `${optionLine(key, opt)}\n\n_${spec.name}_`, span: loc.span };
    }
  } else if (p[0] === 'steps' && p.length >= 3) {
    const info = schemaAt(stepSchema, p.slice(2));
    if (info)
      return {
        contents: keyDoc(
          key,
          info.schema.description === undefined && info.description
            ? info.schema.describe(info.description)
            : info.schema,
        ),
        span: loc.span,
      };
  } else if (p[0] === 'deploy' && p.length >= 2) {
    schema = schemaAt(deploySchema, p.slice(1))?.schema;
  } else {
    const parent = mappingSchema(doc, p.slice(0, -1));
    schema = parent?.[key];
  }
  return schema ? { contents: keyDoc(key, schema), span: loc.span } : undefined;
}

function referenceDoc(doc: PipelineDocument, r: PipelineReference, offset: number): string {
  switch (r.kind) {
    case 'param':
      return paramDoc(r.name, doc);
    case 'data': {
      const d = doc.symbols.data.get(r.name);
      return d ? `**data ${r.name}** → \`${d.path ?? d.from ?? ''}\`` : `Unknown data \`${r.name}\``;
    }
    case 'step': {
      const s = doc.symbols.steps.get(r.name);
      return s ? `**step ${r.name}** — ${s.uses ? `\`${s.uses}\`` : 'command step'}` : `Unknown step \`${r.name}\``;
    }
    case 'output': {
      const s = doc.symbols.steps.get(r.step);
      if (withinSpan(r.stepSpan, offset))
        return s ? `**step ${r.step}** — ${s.uses ? `\`${s.uses}\`` : 'command step'}` : `Unknown step \`${r.step}\``;
      const o = s?.outputs.get(r.name);
      const spec = s?.uses ? getBuiltin(s.uses) : undefined;
      const desc = spec?.outputs[r.name]?.description;
      return o
        ? `**${r.step}.outputs.${r.name}** → \`${o.path}\`${desc ? `\n\n${desc}` : ''}`
        : `Unknown output \`${r.name}\` of step \`${r.step}\``;
    }
  }
}
