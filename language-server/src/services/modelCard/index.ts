import {
  allLicenseIds,
  cairnKeys,
  cardMetricNames,
  cardSection,
  cardSections,
  checkModelCard,
  frontMatterKeys,
  libraryNames,
  licenseName,
  linkedPipeline,
  parseModelCard,
  pipelineTags,
  type CardHeading,
  type ModelCardHost,
  type ParsedModelCard,
  type Span,
} from '@cairn/protocol';
import { builtins } from '@cairn/protocol/pipeline/builtins.js';
import { parse as parseYaml } from 'yaml';
import { hostConfine } from '../confine.js';
import type { Completion, FileSpan, Hover, LanguageService, OutlineSymbol, WorkspaceHost } from '../types.js';
import { yamlContextAt } from './yamlContext.js';

/**
 * The model-card language service: a thin layer over protocol/src/modelCard (parse, checks) adding completion, hover,
 * navigation and the outline. Pure: everything outside the card comes through `WorkspaceHost`.
 */

const inside = (span: Span, offset: number): boolean => offset >= span.start && offset <= span.end;

/** True when any value under a `pii` or `personal_data` key of the pipeline is `true`. */
function yamlFlagsPersonalData(value: unknown, depth = 0): boolean {
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((v) => yamlFlagsPersonalData(v, depth + 1));
  return Object.entries(value).some(
    ([k, v]) => ((k === 'pii' || k === 'personal_data') && v === true) || yamlFlagsPersonalData(v, depth + 1),
  );
}

/** The checks' host, built from the server's workspace host. */
export function cardHost(host: WorkspaceHost): ModelCardHost {
  const extended = host as WorkspaceHost & Partial<Pick<ModelCardHost, 'pipelineHasPersonalData'>>;
  return {
    fileExists: (f) => host.fileExists(f),
    // The linked pipeline is confined to the workspace folder its path is written in (absolute paths here).
    confine: (f) => hostConfine(host, f)?.(f) ?? { kind: 'inside', real: f, root: f },
    pipelinesNamingCard: (f) => host.pipelinesNamingCard(f),
    trackedMetrics: (m) => host.trackedMetrics?.(m),
    pipelineHasPersonalData: (pipeline) => {
      if (extended.pipelineHasPersonalData !== undefined) return extended.pipelineHasPersonalData(pipeline);
      const text = host.readText(pipeline);
      if (text === undefined) return false;
      try {
        return yamlFlagsPersonalData(parseYaml(text, { maxAliasCount: 100 }));
      } catch {
        // An unreadable pipeline flags nothing here; its own diagnostics report the YAML error.
        return false;
      }
    },
  };
}

const metricCandidates = (): string[] => [...new Set([...cardMetricNames, ...builtins.flatMap((b) => b.metrics)])];

const modelIndexKeys: Record<string, ReadonlyArray<readonly [string, string]>> = {
  'model-index': [
    ['name', "The model's name (its Hub id)."],
    ['results', 'Evaluation results: `- task`, `dataset`, `metrics`.'],
  ],
  results: [
    ['task', 'The task evaluated: `type` (a pipeline tag) and an optional `name`.'],
    ['dataset', 'The data set: `type` (Hub id) and `name` (required), optional `config`, `split`, `revision`, `args`.'],
    ['metrics', 'The measures: `- type` and `value` (required), optional `name`, `config`, `args`, `verified`.'],
    ['source', 'Where the results come from: `name` and `url`.'],
  ],
  task: [
    ['type', 'Task id, a Hub pipeline tag (e.g. `text-classification`). Required.'],
    ['name', 'Readable task name (e.g. `Text Classification`).'],
  ],
  dataset: [
    ['type', 'Data set id (Hub id, e.g. `glue`). Required.'],
    ['name', 'Readable data set name. Required.'],
    ['config', 'Data set configuration (e.g. `sst2`).'],
    ['split', 'Split evaluated (e.g. `validation`, `test`).'],
    ['revision', 'Data set revision (git sha).'],
    ['args', 'Arguments passed when loading the data set.'],
  ],
  metrics: [
    ['type', 'Metric id (e.g. `accuracy`, `f1`). Required.'],
    ['value', 'The measured value. Required. Compared with the metrics Cairn tracked for `cairn.model`.'],
    ['name', 'Readable metric name (e.g. `Test Accuracy`).'],
    ['config', 'Metric configuration (e.g. `macro` for F1).'],
    ['args', 'Arguments passed to the metric.'],
    ['verified', 'Set by the Hub when it evaluated the model itself; leave unset.'],
  ],
};

function frontMatterCompletions(card: ParsedModelCard, offset: number): Completion[] {
  const fm = card.frontMatter;
  if (fm === undefined) return [];
  const ctx = yamlContextAt(card.text, fm.contentSpan, offset);
  const top = ctx.path.length === 0;
  if (ctx.on === 'key') {
    if (top) {
      const present = new Set(fm.entries.map((e) => e.key));
      return frontMatterKeys
        .filter(([k]) => !present.has(k) || card.text.slice(ctx.span.start, ctx.span.end) === k)
        .map(([k, doc], i) => ({
          label: k,
          kind: 'property',
          documentation: doc,
          insertText: `${k}: `,
          replace: ctx.span,
          sortText: String(i).padStart(3, '0'),
        }));
    }
    const parent = ctx.path[ctx.path.length - 1] ?? '';
    const keys =
      ctx.path[0] === 'cairn' && ctx.path.length === 1
        ? cairnKeys
        : ctx.path[0] === 'model-index'
          ? modelIndexKeys[parent]
          : undefined;
    return (keys ?? []).map(([k, doc]) => ({
      label: k,
      kind: 'property',
      documentation: doc,
      insertText: `${k}: `,
      replace: ctx.span,
    }));
  }
  const key = ctx.key ?? '';
  const value = (label: string, kind: Completion['kind'], documentation?: string): Completion =>
    documentation === undefined
      ? { label, kind, replace: ctx.span }
      : { label, kind, documentation, replace: ctx.span };
  const parent = ctx.path[ctx.path.length - 1];
  if (top && key === 'license') return allLicenseIds().map((id) => value(id, 'license', licenseName(id)));
  if (top && key === 'pipeline_tag') return pipelineTags.map((t) => value(t, 'value'));
  if (top && key === 'library_name') return libraryNames.map((t) => value(t, 'value'));
  if (top && key === 'metrics') return metricCandidates().map((m) => value(m, 'metric'));
  if (ctx.path[0] === 'model-index' && parent === 'metrics' && key === 'type')
    return metricCandidates().map((m) => value(m, 'metric'));
  if (ctx.path[0] === 'model-index' && parent === 'task' && key === 'type')
    return pipelineTags.map((t) => value(t, 'value'));
  if (ctx.path[0] === 'cairn' && key === 'personal_data') return ['true', 'false'].map((b) => value(b, 'value'));
  return [];
}

function headingCompletions(card: ParsedModelCard, offset: number): Completion[] {
  let lineStart = offset;
  while (lineStart > card.bodySpan.start && card.text[lineStart - 1] !== '\n' && card.text[lineStart - 1] !== '\r')
    lineStart--;
  const before = card.text.slice(lineStart, offset);
  const m = /^ {0,3}(#{1,6})([ \t]*)([^#]*)$/.exec(before);
  if (m?.[1] === undefined) return [];
  let lineEnd = offset;
  while (lineEnd < card.text.length && card.text[lineEnd] !== '\n' && card.text[lineEnd] !== '\r') lineEnd++;
  const titleStart = lineStart + before.length - (m[3] ?? '').length - (m[2] ?? '').length;
  const replace = { start: titleStart, end: lineEnd };
  const present = new Set(card.headings.flatMap((h) => h.sections));
  return cardSections.map((s, i) => ({
    label: s.title,
    kind: 'section',
    detail: present.has(s.id)
      ? 'model-card section (already in the card)'
      : s.id === 'privacy'
        ? 'model-card section (needed for personal data)'
        : 'model-card section (missing)',
    documentation: s.purpose,
    insertText: ` ${s.title}\n\n${s.body}`,
    replace,
    filterText: ` ${s.title}`,
    // Missing sections first, in the card's order.
    sortText: `${present.has(s.id) ? 1 : 0}${String(i).padStart(2, '0')}`,
  }));
}

function headingAt(card: ParsedModelCard, offset: number): CardHeading | undefined {
  return card.headings.find((h) => inside(h.span, offset));
}

function hover(card: ParsedModelCard, offset: number): Hover | undefined {
  const fm = card.frontMatter;
  if (fm !== undefined && inside(fm.contentSpan, offset)) {
    const entry = fm.entries.find((e) => inside(e.keySpan, offset));
    if (entry !== undefined) {
      const doc = frontMatterKeys.find(([k]) => k === entry.key)?.[1];
      return doc === undefined ? undefined : { contents: `**${entry.key}**\n\n${doc}`, span: entry.keySpan };
    }
    const lic = card.metadata.licenses.find((l) => inside(l.span, offset));
    if (lic !== undefined) {
      const name = licenseName(lic.value);
      return {
        contents: name === undefined ? `Unknown license id \`${lic.value}\`.` : `**${name}** (\`${lic.value}\`)`,
        span: lic.span,
      };
    }
    const cairn = card.metadata.cairn;
    if (cairn !== undefined && inside(cairn.span, offset)) {
      for (const [k, doc] of cairnKeys) {
        const at = card.text.indexOf(`${k}:`, cairn.span.start);
        if (at >= 0 && at < cairn.span.end && offset >= at && offset <= at + k.length)
          return { contents: `**cairn.${k}**\n\n${doc}`, span: { start: at, end: at + k.length } };
      }
    }
    const ctx = yamlContextAt(card.text, fm.contentSpan, offset);
    if (ctx.on === 'key' && ctx.path[0] === 'model-index') {
      const word = card.text.slice(ctx.span.start, ctx.span.end);
      const doc = modelIndexKeys[ctx.path[ctx.path.length - 1] ?? '']?.find(([k]) => k === word)?.[1];
      if (doc !== undefined) return { contents: `**${word}**\n\n${doc}`, span: ctx.span };
    }
    return undefined;
  }
  const h = headingAt(card, offset);
  if (h === undefined || h.sections.length === 0) return undefined;
  const parts = h.sections.map((id) => {
    const s = cardSection(id);
    return `**${s.title}** — ${s.purpose}`;
  });
  const status =
    h.content === 'text' ? '' : h.content === 'placeholder' ? '\n\n_Only placeholders so far._' : '\n\n_Empty so far._';
  return {
    contents: `Counts as the model-card section${parts.length > 1 ? 's' : ''}:\n\n${parts.join('\n\n')}${status}`,
    span: h.titleSpan,
  };
}

function symbols(card: ParsedModelCard): OutlineSymbol[] {
  const out: OutlineSymbol[] = [];
  const fm = card.frontMatter;
  if (fm !== undefined) {
    out.push({
      name: 'Front matter',
      kind: 'module',
      span: fm.span,
      selectionSpan: { start: fm.span.start, end: Math.min(fm.span.end, fm.span.start + 3) },
      children: fm.entries.map((e) => ({
        name: e.key,
        kind: 'property' as const,
        ...(typeof e.value === 'string' || typeof e.value === 'number' || typeof e.value === 'boolean'
          ? { detail: String(e.value) }
          : {}),
        span: { start: e.keySpan.start, end: Math.max(e.keySpan.end, e.valueSpan.end) },
        selectionSpan: e.keySpan,
        children: [],
      })),
    });
  }
  const stack: Array<{ level: number; sym: OutlineSymbol }> = [];
  for (const h of card.headings) {
    let end = h.contentSpan.end;
    while (end > h.span.end && /\s/.test(card.text[end - 1] ?? '')) end--;
    const sym: OutlineSymbol = {
      name: h.title === '' ? '(empty heading)' : h.title,
      kind: 'string',
      span: { start: h.span.start, end },
      selectionSpan: h.titleSpan,
      children: [],
    };
    const detail = h.sections.map((id) => cardSection(id).title).join(', ');
    if (detail !== '') sym.detail = detail;
    while (stack.length > 0 && (stack[stack.length - 1]?.level ?? 0) >= h.level) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent === undefined) out.push(sym);
    else parent.sym.children.push(sym);
    stack.push({ level: h.level, sym });
  }
  return out;
}

export const modelCardService: LanguageService<ParsedModelCard> = {
  parse: (file, text) => parseModelCard(file, text),
  diagnostics: (card, host) => checkModelCard(card, cardHost(host)),
  completions: (card, offset) => {
    if (
      card.frontMatter !== undefined &&
      offset >= card.frontMatter.contentSpan.start &&
      offset <= card.frontMatter.contentSpan.end
    ) {
      return frontMatterCompletions(card, offset);
    }
    return offset >= card.bodySpan.start ? headingCompletions(card, offset) : [];
  },
  hover: (card, offset) => hover(card, offset),
  definition: (card, offset, host): FileSpan[] => {
    const link = card.metadata.cairn?.pipeline;
    const target = linkedPipeline(card);
    if (link === undefined || target === undefined || !inside(link.span, offset) || !host.fileExists(target)) return [];
    return [{ file: target, span: { start: 0, end: 0 } }];
  },
  references: () => [],
  prepareRename: () => undefined,
  rename: () => ({ error: 'Nothing in a model card can be renamed: rename steps and params in the pipeline.' }),
  symbols: (card) => symbols(card),
  dependencies: (card, host) => {
    const deps = [...host.pipelinesNamingCard(card.file)];
    const linked = linkedPipeline(card);
    if (linked !== undefined && !deps.includes(linked)) deps.push(linked);
    return deps;
  },
};
