import * as path from 'node:path';
import {
  builtins,
  checkPipeline,
  deploySchema,
  describeType,
  enumValues,
  getBuiltin,
  mapGet,
  namePattern,
  objectKeys,
  parsePipeline,
  pipelineSchema,
  schemaAt,
  stepSchema,
  unwrap,
  type BuiltinSpec,
  type PipelineDocument,
  type PipelineReference,
  type Span,
  type StepInfo,
  type YNode,
} from '@cairn/protocol';
import type { z } from 'zod';
import { hostConfine } from '../confine.js';
import type { Completion, FileEdit, FileSpan, Hover, LanguageService, OutlineSymbol, RenameResult, WorkspaceHost } from '../types.js';

/**
 * The pipeline language service: pure functions of the parsed document (protocol/src/pipeline) and the workspace
 * host. Everything is in offsets; the handlers convert to LSP ranges.
 */

function within(span: Span, offset: number): boolean {
  return offset >= span.start && offset <= span.end;
}

function resolveBeside(file: string, relative: string): string {
  return path.resolve(path.dirname(file), relative);
}

function stepOf(doc: PipelineDocument, offset: number): StepInfo | undefined {
  for (const s of doc.symbols.steps.values()) if (within(s.span, offset)) return s;
  return undefined;
}

function builtinOf(doc: PipelineDocument, stepName: string | number | undefined): BuiltinSpec | undefined {
  const s = typeof stepName === 'string' ? doc.symbols.steps.get(stepName) : undefined;
  return s?.uses ? getBuiltin(s.uses) : undefined;
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? String(v);
}

// ---------------------------------------------------------------------------------------------------------------
// What sits at an offset: a reference or a declaration.

type Target =
  | { kind: 'param' | 'data' | 'step'; name: string; span: Span }
  | { kind: 'output'; step: string; name: string; span: Span };

function referenceAt(doc: PipelineDocument, offset: number): PipelineReference | undefined {
  for (const r of doc.references) if (within(r.span, offset)) return r;
  return undefined;
}

function targetAt(doc: PipelineDocument, offset: number): Target | undefined {
  const r = referenceAt(doc, offset);
  if (r) {
    if (r.kind === 'output') {
      if (within(r.stepSpan, offset)) return { kind: 'step', name: r.step, span: r.stepSpan };
      return { kind: 'output', step: r.step, name: r.name, span: r.nameSpan };
    }
    return { kind: r.kind, name: r.name, span: r.nameSpan };
  }
  for (const p of doc.symbols.params.values()) if (within(p.keySpan, offset)) return { kind: 'param', name: p.name, span: p.keySpan };
  for (const d of doc.symbols.data.values()) if (within(d.keySpan, offset)) return { kind: 'data', name: d.name, span: d.keySpan };
  for (const s of doc.symbols.steps.values()) {
    if (within(s.keySpan, offset)) return { kind: 'step', name: s.name, span: s.keySpan };
    if (!within(s.span, offset)) continue;
    for (const o of s.outputs.values()) if (within(o.keySpan, offset) && s.kind === 'run') return { kind: 'output', step: s.name, name: o.name, span: o.keySpan };
  }
  return undefined;
}

/** Where a target is declared. */
function declaration(doc: PipelineDocument, t: Target): Span | undefined {
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
function uses(doc: PipelineDocument, t: Target): Span[] {
  const out: Span[] = [];
  for (const r of doc.references) {
    if (t.kind === 'output' && r.kind === 'output' && r.step === t.step && r.name === t.name) out.push(r.nameSpan);
    else if (t.kind === 'step' && r.kind === 'output' && r.step === t.name) out.push(r.stepSpan);
    else if (t.kind !== 'output' && r.kind === t.kind && r.name === t.name) out.push(r.nameSpan);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Docs

function optionsOf(spec: BuiltinSpec): Record<string, z.ZodType> {
  return spec.options.shape as Record<string, z.ZodType>;
}

function builtinDoc(spec: BuiltinSpec): string {
  const lines = [`**${spec.name}** (built-in, ${spec.category}, v${spec.version})`, '', spec.summary, '', '**Options**'];
  for (const [name, schema] of Object.entries(optionsOf(spec))) lines.push(`- ${optionLine(name, schema)}`);
  const outputs = Object.entries(spec.outputs);
  lines.push('', '**Outputs**', ...(outputs.length > 0 ? outputs.map(([n, o]) => `- \`${n}\` (${o.file}): ${o.description}${o.optional ? ' (optional)' : ''}`) : ['- none']));
  if (spec.metrics.length > 0) lines.push('', `**Metrics**: ${spec.metrics.map((m) => `\`${m}\``).join(', ')}`);
  return lines.join('\n');
}

function optionLine(name: string, schema: z.ZodType): string {
  const info = unwrap(schema);
  const required = !info.optional;
  const def = info.hasDefault ? `, default \`${formatValue(info.defaultValue)}\`` : '';
  return `\`${name}\` (${describeType(info.schema)}${required ? ', required' : ''}${def})${info.description ? `: ${info.description}` : ''}`;
}

function keyDoc(key: string, schema: z.ZodType): string {
  const info = unwrap(schema);
  const def = info.hasDefault ? `\n\nDefault: \`${formatValue(info.defaultValue)}\`` : '';
  return `**${key}** — ${describeType(info.schema)}${info.optional ? '' : ' (required)'}\n\n${info.description ?? ''}${def}`.trim();
}

/** The schema of the mapping at `path`, with built-in options and gates resolved per step. */
function mappingSchema(doc: PipelineDocument, p: ReadonlyArray<string | number>): Record<string, z.ZodType> | undefined {
  if (p[0] === 'steps' && p.length >= 3 && p[2] === 'with') {
    const spec = builtinOf(doc, p[1]);
    if (!spec) return undefined;
    if (p.length === 3) return optionsOf(spec);
    const info = schemaAt(spec.options, p.slice(3));
    return info ? objectKeys(info.schema) : undefined;
  }
  if (p[0] === 'params' && p.length === 2) return objectKeys(unwrap(schemaAt(pipelineSchema, ['params', 'x'])?.schema ?? pipelineSchema).schema);
  const info = schemaAt(pipelineSchema, p.map((k) => (typeof k === 'number' ? k : k)));
  return info ? objectKeys(info.schema) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Completion

function completionsAt(doc: PipelineDocument, offset: number): Completion[] {
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
      ['data', 'A data entry\'s path: `${data.NAME}`'],
      ['steps', 'Another step\'s output: `${steps.STEP.outputs.OUTPUT}`'],
    ] as const)
      out.push({ label: ns, kind: 'snippet', documentation: doc_, insertText: `${ns}.`, replace });
    return out;
  }
  const [ns, a] = parts;
  if (ns === 'params' && parts.length === 2)
    for (const p of doc.symbols.params.values())
      out.push({ label: p.name, kind: 'param', detail: `${p.type} = ${p.secret ? '••••' : formatValue(p.value)}`, documentation: p.description, replace });
  else if (ns === 'data' && parts.length === 2)
    for (const d of doc.symbols.data.values()) out.push({ label: d.name, kind: 'data', detail: d.path ?? d.from, replace });
  else if (ns === 'steps' && parts.length === 2) {
    const here = stepOf(doc, offset)?.name;
    for (const s of doc.symbols.steps.values())
      if (s.name !== here) out.push({ label: s.name, kind: 'step', detail: s.uses ?? 'command', insertText: `${s.name}.outputs.`, replace });
  } else if (ns === 'steps' && parts.length === 3) out.push({ label: 'outputs', kind: 'property', insertText: 'outputs.', replace });
  else if (ns === 'steps' && parts.length === 4 && parts[2] === 'outputs') {
    const s = a === undefined ? undefined : doc.symbols.steps.get(a);
    const spec = s?.uses ? getBuiltin(s.uses) : undefined;
    for (const o of s?.outputs.values() ?? []) out.push({ label: o.name, kind: 'output', detail: o.path, documentation: spec?.outputs[o.name]?.description, replace });
  }
  return out;
}

function valueCompletions(doc: PipelineDocument, p: ReadonlyArray<string | number>, span: Span): Completion[] {
  const out: Completion[] = [];
  const last = p[p.length - 1];
  if (p[0] === 'steps' && p.length === 3 && last === 'uses') {
    for (const b of builtins) out.push({ label: b.name, kind: 'builtin', detail: b.category, documentation: builtinDoc(b), replace: span });
    return out;
  }
  if (p[0] === 'steps' && (p[2] === 'needs' || (p.length === 3 && last === 'needs'))) {
    for (const s of doc.symbols.steps.values()) if (s.name !== p[1]) out.push({ label: s.name, kind: 'step', detail: s.uses ?? 'command', replace: span });
    return out;
  }
  if (p[0] === 'steps' && p[2] === 'params') {
    for (const prm of doc.symbols.params.values()) out.push({ label: prm.name, kind: 'param', detail: prm.type, replace: span });
    return out;
  }
  let schema: z.ZodType | undefined;
  if (p[0] === 'steps' && p[2] === 'with' && p.length >= 4) {
    const spec = builtinOf(doc, p[1]);
    schema = spec ? schemaAt(spec.options, p.slice(3))?.schema : undefined;
  } else schema = schemaAt(pipelineSchema, p)?.schema;
  if (!schema) return out;
  for (const v of enumValues(schema) ?? []) out.push({ label: String(v), kind: 'value', replace: span });
  if (describeType(schema) === 'true or false') for (const v of ['true', 'false']) out.push({ label: v, kind: 'value', replace: span });
  return out;
}

function keyCompletions(doc: PipelineDocument, mapPath: ReadonlyArray<string | number>, current: string | undefined, span: Span): Completion[] {
  const out: Completion[] = [];
  const present = new Set<string>();
  const node = nodeAt(doc, mapPath);
  if (node?.kind === 'map') for (const e of node.entries) if (e.key !== current) present.add(e.key);
  // Gates: the metrics the step's built-in reports.
  if (mapPath[0] === 'steps' && mapPath.length === 3 && mapPath[2] === 'gate') {
    const spec = builtinOf(doc, mapPath[1]);
    for (const m of spec?.metrics ?? [])
      if (!present.has(m)) out.push({ label: m, kind: 'metric', detail: `${spec?.name ?? ''} metric`, insertText: `${m}: { min: \${1:0} }`, snippet: true, replace: span });
    return out;
  }
  // A new step or param: nothing to complete (names are the user's).
  if ((mapPath.length === 1 && (mapPath[0] === 'steps' || mapPath[0] === 'params' || mapPath[0] === 'data')) || (mapPath[0] === 'deploy' && mapPath[1] === 'monitor' && mapPath[2] === 'drift')) return out;
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
      detail: info.hasDefault ? `${type}, default ${formatValue(info.defaultValue)}` : `${type}${info.optional ? '' : ' (required)'}`,
      documentation: spec ? `${optionLine(key, schema)}\n\n_${spec.name}_` : keyDoc(key, schema),
      insertText: nested && type === 'a mapping' ? `${key}:\n  ` : `${key}: `,
      replace: span,
      sortText: `${info.optional ? '1' : '0'}${key}`,
    });
  }
  return out;
}

function nodeAt(doc: PipelineDocument, p: ReadonlyArray<string | number>): YNode | undefined {
  let cur: YNode | undefined = doc.root;
  for (const k of p) {
    if (!cur) return undefined;
    if (typeof k === 'number') cur = cur.kind === 'seq' ? cur.items[k] : undefined;
    else cur = mapGet(cur, k)?.value;
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------------------------
// Hover

function hoverAt(doc: PipelineDocument, offset: number): Hover | undefined {
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
    return { contents: [`**step ${key}** — ${spec ? `\`${spec.name}\`: ${spec.summary}` : 'command step'}`, ...(outs.length > 0 ? ['', '**Outputs**', ...outs] : [])].join('\n'), span: loc.span };
  }
  if (p.length === 2 && p[0] === 'params') {
    const prm = doc.symbols.params.get(key);
    if (prm) return { contents: paramDoc(prm.name, doc), span: loc.span };
  }
  if (p[0] === 'steps' && p.length === 4 && p[2] === 'gate') {
    const spec = builtinOf(doc, p[1]);
    return { contents: `**${key}** — a metric ${spec ? `reported by \`${spec.name}\`` : 'the step reports'}; the run fails outside \`min\`/\`max\`.`, span: loc.span };
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
    if (info) return { contents: keyDoc(key, info.schema.description === undefined && info.description ? info.schema.describe(info.description) : info.schema), span: loc.span };
  } else if (p[0] === 'deploy' && p.length >= 2) {
    schema = schemaAt(deploySchema, p.slice(1))?.schema;
  } else {
    const parent = mappingSchema(doc, p.slice(0, -1));
    schema = parent?.[key];
  }
  return schema ? { contents: keyDoc(key, schema), span: loc.span } : undefined;
}

function paramDoc(name: string, doc: PipelineDocument): string {
  const p = doc.symbols.params.get(name);
  if (!p) return `Unknown param \`${name}\``;
  const value = p.secret ? '•••• (secret)' : p.value === undefined ? '(no default: pass `-p ' + name + '=VALUE`)' : `\`${formatValue(p.value)}\``;
  return [`**param ${name}**: ${p.type} = ${value}`, ...(p.description ? ['', p.description] : []), '', `Override per run: \`cairn run -p ${name}=VALUE\``].join('\n');
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
      if (within(r.stepSpan, offset)) return s ? `**step ${r.step}** — ${s.uses ? `\`${s.uses}\`` : 'command step'}` : `Unknown step \`${r.step}\``;
      const o = s?.outputs.get(r.name);
      const spec = s?.uses ? getBuiltin(s.uses) : undefined;
      const desc = spec?.outputs[r.name]?.description;
      return o ? `**${r.step}.outputs.${r.name}** → \`${o.path}\`${desc ? `\n\n${desc}` : ''}` : `Unknown output \`${r.name}\` of step \`${r.step}\``;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Files the pipeline reads (dependencies, definition on paths)

interface PathNode {
  value: string;
  span: Span;
}

function filePaths(doc: PipelineDocument): PathNode[] {
  const out: PathNode[] = [];
  const add = (n: YNode | undefined) => {
    if (n?.kind === 'scalar' && typeof n.value === 'string' && n.value.length > 0 && !n.value.includes('${')) out.push({ value: n.value, span: n.span });
  };
  for (const d of doc.symbols.data.values()) add(d.pathNode);
  for (const s of doc.symbols.steps.values()) {
    const v = s.entry.value;
    if (v.kind !== 'map') continue;
    const deps = mapGet(v, 'deps')?.value;
    if (deps?.kind === 'seq') deps.items.forEach(add);
    const spec = s.uses ? getBuiltin(s.uses) : undefined;
    const w = mapGet(v, 'with')?.value;
    if (spec && w?.kind === 'map')
      for (const name of spec.inputs) {
        const opt = mapGet(w, name)?.value;
        if (opt?.kind === 'seq') opt.items.forEach(add);
        else add(opt);
      }
  }
  const deploy = doc.root ? mapGet(doc.root, 'deploy')?.value : undefined;
  if (deploy?.kind === 'map') {
    add(mapGet(deploy, 'card')?.value);
    add(mapGet(deploy, 'model')?.value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Outline

function outline(doc: PipelineDocument): OutlineSymbol[] {
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
          [...doc.symbols.data.values()].map((d) => ({ name: d.name, detail: d.path ?? d.from, kind: 'file', span: d.span, selectionSpan: d.keySpan, children: [] })),
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
            children: [...s.outputs.values()].map((o) => ({ name: o.name, detail: o.path, kind: 'field', span: o.span, selectionSpan: o.keySpan, children: [] })),
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

// ---------------------------------------------------------------------------------------------------------------

function asDoc(doc: PipelineDocument | { text: string; file: string }): PipelineDocument {
  return 'mode' in doc ? doc : parsePipeline(doc.file, doc.text);
}

export const pipelineService: LanguageService<PipelineDocument> = {
  parse: (file, text, previous) => parsePipeline(file, text, previous),

  diagnostics(doc, host) {
    const confine = hostConfine(host, doc.file);
    return checkPipeline(asDoc(doc), {
      fileExists: (rel) => host.fileExists(resolveBeside(doc.file, rel)),
      ...(confine ? { confine } : {}),
    });
  },

  completions: (doc, offset) => completionsAt(doc, offset),

  hover: (doc, offset) => hoverAt(doc, offset),

  definition(doc, offset) {
    const t = targetAt(doc, offset);
    if (t) {
      const span = declaration(doc, t);
      return span ? [{ file: doc.file, span }] : [];
    }
    for (const p of filePaths(doc)) if (within(p.span, offset)) return [{ file: resolveBeside(doc.file, p.value), span: { start: 0, end: 0 } }];
    return [];
  },

  references(doc, offset, _host, includeDeclaration) {
    const t = targetAt(doc, offset);
    if (!t) return [];
    const spans = uses(doc, t);
    const decl = declaration(doc, t);
    if (includeDeclaration && decl) spans.unshift(decl);
    return spans.map((span): FileSpan => ({ file: doc.file, span }));
  },

  prepareRename(doc, offset) {
    const t = targetAt(doc, offset);
    if (!t) return undefined;
    // Built-in outputs are named by the catalogue, and list-form outputs by their file: neither can be renamed here.
    if (t.kind === 'output') {
      const s = doc.symbols.steps.get(t.step);
      const o = s?.outputs.get(t.name);
      if (!s || s.kind !== 'run' || !o || doc.text.slice(o.keySpan.start, o.keySpan.end) !== t.name) return undefined;
    }
    return declaration(doc, t) ? t.span : undefined;
  },

  rename(doc, offset, newName): RenameResult {
    const t = targetAt(doc, offset);
    if (!t || pipelineService.prepareRename(doc, offset) === undefined) return { error: 'Nothing to rename here: put the cursor on a step, param, data entry or command-step output.' };
    if (!namePattern.test(newName)) return { error: `'${newName}' is not a valid name: use letters, digits, '_' and '-', starting with a letter or '_'.` };
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
    const spans = [...(decl ? [decl] : []), ...uses(doc, t)];
    const edits: FileEdit[] = spans.map((span) => ({ file: doc.file, span, newText: newName }));
    return { edits };
  },

  symbols: (doc) => outline(doc),

  dependencies(doc: PipelineDocument, _host: WorkspaceHost) {
    const files = new Set<string>();
    for (const p of filePaths(doc)) files.add(resolveBeside(doc.file, p.value));
    // The card a model.register step names is a dependency too.
    for (const s of doc.symbols.steps.values()) {
      if (s.uses !== 'model.register' || s.entry.value.kind !== 'map') continue;
      const w = mapGet(s.entry.value, 'with')?.value;
      const card = w?.kind === 'map' ? mapGet(w, 'card')?.value : undefined;
      if (card?.kind === 'scalar' && typeof card.value === 'string' && !card.value.includes('${')) files.add(resolveBeside(doc.file, card.value));
    }
    return [...files];
  },
};
