import { parse as parseYamlValue } from 'yaml';
import { Severity, type CairnDiagnostic } from '../diagnostics.js';
import { getBuiltin } from './builtins.js';
import { allowedOutside, checkPipeline, normalizePath } from './check.js';
import { PipelineCode, pipelineCodeSeverity } from './codes.js';
import { referencesByStep, stepEdges, topoOrder } from './graph.js';
import { exactInterpolation, interpolate } from './interpolation.js';
import type {
  ParamType,
  ParsedPipeline,
  PipelineHost,
  ResolvedDeploy,
  ResolvedPipeline,
  ResolvedStep,
} from './model.js';
import { isPipelineDocument, parsePipeline, type PipelineDocument } from './parse.js';
import { builtinOutputPath, valueMatchesType, type StepInfo } from './symbols.js';
import { mapGet, toValue, type YNode } from './yamlTree.js';

export interface ResolveOptions {
  /** Absolute folder of the pipeline (relative paths in the result are relative to it). */
  root: string;
  /** `cairn run -p name=value`: strings are read as the param's type (`0.1`, `true`, `[1, 2]`); other values are taken as they are. */
  overrides?: Record<string, unknown>;
  /** File checks (missing dependency files); without it, files are assumed to exist. */
  host?: PipelineHost;
}

export interface ResolveResult {
  /** Undefined when any diagnostic is an error. */
  pipeline?: ResolvedPipeline;
  diagnostics: CairnDiagnostic[];
}

function coerce(raw: unknown, type: ParamType): { ok: true; value: unknown } | { ok: false } {
  if (typeof raw !== 'string') return valueMatchesType(raw, type) ? { ok: true, value: raw } : { ok: false };
  const s = raw.trim();
  switch (type) {
    case 'string':
      return { ok: true, value: raw };
    case 'int':
      return /^[-+]?\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? { ok: true, value: Number(s) } : { ok: false };
    case 'float': {
      const n = Number(s);
      return s !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'bool':
      if (s === 'true') return { ok: true, value: true };
      if (s === 'false') return { ok: true, value: false };
      return { ok: false };
    case 'list':
    case 'map': {
      try {
        const v: unknown = parseYamlValue(s);
        return valueMatchesType(v, type) ? { ok: true, value: v } : { ok: false };
      } catch {
        return { ok: false };
      }
    }
  }
}

function stringOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * Turns a parsed pipeline into what the executor runs: params overridden and typed, every `${...}` replaced, built-in
 * options defaulted, steps in topological order, each with its upstream steps, input files and output paths.
 */
export function resolvePipeline(parsed: ParsedPipeline | PipelineDocument, options: ResolveOptions): ResolveResult {
  const doc: PipelineDocument = isPipelineDocument(parsed) ? parsed : parsePipeline(parsed.file, parsed.text);
  const diagnostics = checkPipeline(doc, options.host ?? { fileExists: () => true });
  const firstKey = doc.root?.entries[0]?.keySpan ?? { start: 0, end: 0 };

  // Params: overrides coerced to the declared type.
  const params: ResolvedPipeline['params'] = {};
  const overrides = options.overrides ?? {};
  for (const [name, raw] of Object.entries(overrides)) {
    const p = doc.symbols.params.get(name);
    if (!p) {
      diagnostics.push({
        code: PipelineCode.badOverride,
        severity: Severity.Error,
        message: `-p ${name}: the pipeline has no param '${name}' (params: ${[...doc.symbols.params.keys()].join(', ') || 'none'}).`,
        span: firstKey,
      });
      continue;
    }
    const c = coerce(raw, p.type);
    if (!c.ok)
      diagnostics.push({
        code: PipelineCode.badOverride,
        severity: Severity.Error,
        message: `-p ${name}=${stringOf(raw)}: '${name}' is a ${p.type}.`,
        span: p.keySpan,
      });
    else params[name] = { value: c.value, type: p.type, secret: p.secret, overridden: true };
  }
  for (const p of doc.symbols.params.values()) {
    if (params[p.name] || Object.prototype.hasOwnProperty.call(overrides, p.name)) continue;
    if (p.value === undefined) {
      diagnostics.push({
        code: PipelineCode.missingParam,
        severity: pipelineCodeSeverity['missing-param'],
        message: `Param '${p.name}' has no default: pass it with \`-p ${p.name}=VALUE\`.`,
        span: p.keySpan,
      });
      continue;
    }
    params[p.name] = { value: p.value, type: p.type, secret: p.secret, overridden: false };
  }
  if (!doc.root || diagnostics.some((d) => d.severity === Severity.Error)) return { diagnostics };

  // Outputs and data paths, so references can be replaced.
  const outputPath = (step: string, output: string) => doc.symbols.steps.get(step)?.outputs.get(output)?.path;
  const dataPath = new Map<string, string>();
  const lookup = (ref: string): string | undefined => {
    const parts = ref.split('.');
    if (parts[0] === 'params' && parts.length === 2) {
      const p = params[parts[1] ?? ''];
      return p ? stringOf(p.value) : undefined;
    }
    if (parts[0] === 'data' && parts.length === 2) return dataPath.get(parts[1] ?? '');
    if (parts[0] === 'steps' && parts.length === 4) return outputPath(parts[1] ?? '', parts[3] ?? '');
    return undefined;
  };
  for (const d of doc.symbols.data.values()) {
    const p = d.path ?? (d.from !== undefined ? interpolate(d.from, lookup) : undefined);
    if (p !== undefined) dataPath.set(d.name, p);
  }
  // A value that is exactly one interpolation keeps the referenced value's type.
  const resolveValue = (node: YNode): unknown => {
    if (node.kind === 'seq') return node.items.map(resolveValue);
    if (node.kind === 'map') {
      const o: Record<string, unknown> = {};
      for (const e of node.entries)
        Object.defineProperty(o, e.key, {
          value: resolveValue(e.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    }
    const v = node.value;
    if (typeof v !== 'string' || !v.includes('$')) return v;
    const exact = exactInterpolation(v);
    if (exact?.startsWith('params.')) {
      const p = params[exact.slice(7)];
      if (p) return p.value;
    }
    return interpolate(v, lookup);
  };
  const str = (node: YNode | undefined): string | undefined => {
    if (!node) return undefined;
    const v = resolveValue(node);
    return v === null || v === undefined ? undefined : stringOf(v);
  };

  const edges = stepEdges(doc);
  const names = [...doc.symbols.steps.keys()];
  const order = topoOrder(names, edges) ?? names;
  const { byStep } = referencesByStep(doc);
  const steps: ResolvedStep[] = [];
  for (const name of order) {
    const s = doc.symbols.steps.get(name);
    if (!s) continue;
    steps.push(resolveStep(doc, s, edges, byStep.get(name) ?? [], resolveValue, str, dataPath, diagnostics));
  }
  const deploy = resolveDeploy(doc, resolveValue, str);
  if (diagnostics.some((d) => d.severity === Severity.Error)) return { diagnostics };
  const nameValue = doc.root ? toValue(mapGet(doc.root, 'name')?.value) : undefined;
  const fileName = doc.file.split(/[\\/]/).pop() ?? doc.file;
  const pipeline: ResolvedPipeline = {
    name: typeof nameValue === 'string' ? nameValue : fileName.replace(/\.cairn\.ya?ml$|\.ya?ml$/, ''),
    file: joinPath(options.root, fileName),
    root: options.root,
    params,
    steps,
    ...(deploy ? { deploy } : {}),
  };
  const outside = allowedOutside(doc);
  if (outside.length > 0) pipeline.allowOutside = outside;
  const data: Record<string, { path: string; schema?: Record<string, unknown> }> = {};
  for (const d of doc.symbols.data.values()) {
    const p = dataPath.get(d.name);
    if (p === undefined) continue;
    const schema = d.entry.value.kind === 'map' ? toValue(mapGet(d.entry.value, 'schema')?.value) : undefined;
    data[d.name] = {
      path: p,
      ...(schema && typeof schema === 'object' ? { schema: schema as Record<string, unknown> } : {}),
    };
  }
  pipeline.data = data;
  return { pipeline, diagnostics };
}

function joinPath(root: string, file: string): string {
  return root.endsWith('/') || root.endsWith('\\') ? root + file : `${root}/${file}`;
}

function resolveStep(
  doc: PipelineDocument,
  s: StepInfo,
  edges: ReturnType<typeof stepEdges>,
  refs: ReturnType<typeof referencesByStep>['byStep'] extends Map<string, infer R> ? R : never,
  resolveValue: (n: YNode) => unknown,
  str: (n: YNode | undefined) => string | undefined,
  dataPath: Map<string, string>,
  diagnostics: CairnDiagnostic[],
): ResolvedStep {
  const v = s.entry.value;
  const get = (k: string) => (v.kind === 'map' ? mapGet(v, k)?.value : undefined);
  const needs = [...new Set(edges.filter((e) => e.to === s.name).map((e) => e.from))];
  const deps: string[] = [];
  const addDep = (p: string | undefined) => {
    if (p && !deps.includes(p)) deps.push(p);
  };
  const paramNames = new Set<string>();
  for (const r of refs) {
    if (r.kind === 'param') paramNames.add(r.name);
    if (r.kind === 'output') addDep(doc.symbols.steps.get(r.step)?.outputs.get(r.name)?.path);
    if (r.kind === 'data') addDep(dataPath.get(r.name));
  }
  const depsNode = get('deps');
  if (depsNode?.kind === 'seq') for (const i of depsNode.items) addDep(str(i));
  const outs: Record<string, string> = {};
  if (s.kind === 'run') for (const o of s.outputs.values()) outs[o.name] = interpolateOut(str, o.path);
  else {
    // Every output of the built-in gets its path (the implementation writes them all); `outputs:` only limits references.
    const spec = s.uses ? getBuiltin(s.uses) : undefined;
    for (const [name, o] of Object.entries(spec?.outputs ?? {})) outs[name] = builtinOutputPath(s.name, o.file);
  }
  const metricsNode = get('metrics');
  const metrics = metricsNode?.kind === 'seq' ? metricsNode.items.map((i) => str(i) ?? '').filter((x) => x !== '') : [];
  const envNode = get('env');
  const env: Record<string, string> = {};
  if (envNode?.kind === 'map') for (const e of envNode.entries) env[e.key] = str(e.value) ?? '';
  const resNode = get('resources');
  const res = resNode
    ? (toValue(resNode) as { cpu?: number; gpu?: 'none' | 'optional' | 'required'; memory?: string })
    : {};
  const resources: ResolvedStep['resources'] = {};
  if (typeof res.cpu === 'number') resources.cpu = res.cpu;
  if (res.gpu) resources.gpu = res.gpu;
  if (typeof res.memory === 'string') resources.memory = res.memory;
  const gateValue = get('gate') ? toValue(get('gate')) : {};
  const gate = (gateValue && typeof gateValue === 'object' ? gateValue : {}) as Record<
    string,
    { min?: number; max?: number }
  >;
  const step: ResolvedStep = {
    name: s.name,
    needs,
    kind: s.kind,
    deps,
    outs,
    params: [],
    metrics,
    env,
    resources,
    gate,
    cache: toValue(get('cache')) !== false,
  };
  if (s.kind === 'run') {
    step.run = str(get('run')) ?? '';
  } else if (s.uses) {
    step.uses = s.uses;
    const spec = getBuiltin(s.uses);
    const withNode = get('with');
    const raw = withNode && withNode.kind === 'map' ? resolveValue(withNode) : {};
    const parsed = spec?.options.safeParse(raw);
    if (parsed && !parsed.success) {
      // Types were checked before interpolation; a value only wrong once resolved (an override) lands here.
      const issue = parsed.error.issues[0];
      diagnostics.push({
        code: PipelineCode.optionType,
        severity: Severity.Error,
        message: `Step '${s.name}': option '${issue?.path.join('.') ?? ''}' is invalid after interpolation: ${issue?.message ?? 'invalid'}.`,
        span: withNode?.span ?? s.keySpan,
      });
    }
    step.with = parsed?.success ? parsed.data : (raw as Record<string, unknown>);
    const dataSchemas: Record<string, Record<string, unknown>> = {};
    if (spec && withNode?.kind === 'map') {
      for (const name of spec.inputs) {
        const val = step.with[name];
        for (const p of Array.isArray(val) ? val : [val]) if (typeof p === 'string') addDep(p);
        const opt = mapGet(withNode, name)?.value;
        const exact =
          opt?.kind === 'scalar' && typeof opt.value === 'string' ? exactInterpolation(opt.value) : undefined;
        if (exact?.startsWith('data.')) {
          const d = doc.symbols.data.get(exact.slice(5));
          const schema =
            d && d.entry.value.kind === 'map' ? toValue(mapGet(d.entry.value, 'schema')?.value) : undefined;
          if (schema && typeof schema === 'object') dataSchemas[name] = schema as Record<string, unknown>;
        }
      }
    }
    if (Object.keys(dataSchemas).length > 0) step.dataSchemas = dataSchemas;
  }
  const declaredParams = get('params');
  if (declaredParams?.kind === 'seq')
    for (const i of declaredParams.items)
      if (i.kind === 'scalar' && typeof i.value === 'string') paramNames.add(i.value);
  step.params = [...paramNames].filter((p) => p.length > 0);
  step.deps = deps.map((d) => (d.startsWith('./') ? normalizePath(d) : d));
  return step;
}

function interpolateOut(str: (n: YNode | undefined) => string | undefined, path: string): string {
  return str({ kind: 'scalar', span: { start: 0, end: 0 }, value: path, quoted: false }) ?? path;
}

function resolveDeploy(
  doc: PipelineDocument,
  resolveValue: (n: YNode) => unknown,
  str: (n: YNode | undefined) => string | undefined,
): ResolvedDeploy | undefined {
  const d = doc.root ? mapGet(doc.root, 'deploy')?.value : undefined;
  if (d?.kind !== 'map') return undefined;
  const serveValue = toValue(mapGet(d, 'serve')?.value) as { host?: string; port?: number } | undefined;
  const deploy: ResolvedDeploy = {
    model: str(mapGet(d, 'model')?.value) ?? '',
    serve: { host: serveValue?.host ?? '127.0.0.1', port: serveValue?.port ?? 8080 },
  };
  const card = str(mapGet(d, 'card')?.value);
  if (card) deploy.card = card;
  const m = mapGet(d, 'monitor')?.value;
  if (m?.kind === 'map') {
    const driftValue = resolveValue(
      mapGet(m, 'drift')?.value ?? { kind: 'map', span: { start: 0, end: 0 }, entries: [], flow: false },
    ) as Record<string, unknown>;
    const drift: Record<string, { test?: string; threshold?: number }> = {};
    for (const [col, spec] of Object.entries(driftValue)) {
      if (typeof spec === 'string') drift[col] = { test: spec };
      else if (spec && typeof spec === 'object') drift[col] = spec;
    }
    const onDrift = toValue(mapGet(m, 'on_drift')?.value);
    deploy.monitor = {
      reference: str(mapGet(m, 'reference')?.value) ?? '',
      window: str(mapGet(m, 'window')?.value) ?? '1d',
      drift,
      ...(onDrift === 'retrain' || onDrift === 'alert' ? { onDrift } : {}),
    };
  }
  const ab = mapGet(d, 'ab')?.value;
  if (ab?.kind === 'map') {
    const v = resolveValue(ab) as { split?: Record<string, number>; key?: string; metric?: string };
    deploy.ab = { split: v.split ?? {}, ...(v.key ? { key: v.key } : {}), ...(v.metric ? { metric: v.metric } : {}) };
  }
  return deploy;
}
