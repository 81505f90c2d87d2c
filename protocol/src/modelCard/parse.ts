import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import { Severity, type CairnDiagnostic, type TextFix } from '../diagnostics.js';
import { LineIndex, type Span } from '../text.js';
import { scanHeadings } from './markdown.js';
import { sectionsOfHeading, type CardSectionId } from './sections.js';
import type {
  CairnLink,
  CardFrontMatter,
  CardHeading,
  CardMetadata,
  FrontMatterEntry,
  Located,
  ModelIndexEntry,
  ModelIndexMetric,
  ModelIndexResult,
  ParsedModelCard,
} from './types.js';
import { closest } from './util.js';
import { allLicenseIds, isKnownLicense, pipelineTags } from './vocabulary.js';

/** Front-matter keys the Hub documents for model cards (others are allowed: the Hub has many more). */
export const frontMatterKeys: ReadonlyArray<readonly [key: string, doc: string]> = [
  ['language', 'Languages the model handles: ISO 639-1 codes (`en`) or a list of them.'],
  [
    'license',
    'License id from the Hugging Face list (e.g. `apache-2.0`, `mit`, `cc-by-4.0`) or an SPDX id; `other` needs `license_name` and `license_link`.',
  ],
  ['license_name', 'Short id of a license not on the Hub list, when `license: other`.'],
  ['license_link', 'Link (or relative path, e.g. `LICENSE`) to the license text, when `license: other`.'],
  ['library_name', 'The library that loads the model (e.g. `transformers`, `sklearn`, `onnx`, `cairn`).'],
  ['tags', 'Free-form tags that help people find the model.'],
  ['datasets', 'Data sets the model was trained on (Hub ids or names).'],
  ['metrics', 'Metric ids the card reports (e.g. `accuracy`, `f1`, `roc_auc`).'],
  ['base_model', 'The model this one was fine-tuned, quantised or merged from (Hub id, or a list).'],
  ['new_version', 'A newer version of this model (Hub id).'],
  ['pipeline_tag', "The task, from the Hub's task list (e.g. `text-classification`, `tabular-classification`)."],
  [
    'model-index',
    'Evaluation results: `- name`, `results[]` with `task.type`, `dataset.type`, `dataset.name` and `metrics[]` (`type`, `value`).',
  ],
  ['thumbnail', 'Image shown for the model on the Hub.'],
  ['widget', "Example inputs for the Hub's inference widget."],
  ['inference', "Turns the Hub's inference widget on or off, or sets its parameters."],
  [
    'co2_eq_emissions',
    'Carbon emitted while training (grams CO2eq), or a mapping with `emissions`, `source`, `training_type`, `geographical_location`, `hardware_used`.',
  ],
  [
    'cairn',
    'Cairn link: `pipeline` (the pipeline file, relative to the card), `model` (step or registered model name), `personal_data` (true when trained or evaluated on personal data).',
  ],
];

/** Keys of the `cairn:` block. */
export const cairnKeys: ReadonlyArray<readonly [key: string, doc: string]> = [
  [
    'pipeline',
    'The pipeline that trains this model, relative to the card (e.g. `./cairn.yaml`). Go to definition opens it.',
  ],
  [
    'model',
    'The model this card describes: the pipeline step that trains it, or its registered name. Claimed metrics are compared with the metrics Cairn tracked for it.',
  ],
  [
    'personal_data',
    '`true` when the model was trained or evaluated on personal data: the card then needs a Privacy section.',
  ],
];

const listKeys = new Set(['tags', 'datasets', 'metrics', 'language', 'base_model']);
const stringKeys = new Set(['license_name', 'license_link', 'library_name', 'pipeline_tag', 'new_version']);
const knownKeys = frontMatterKeys.map(([k]) => k);
/** Keys the Hub knows that a near-miss check must not "correct". */
const otherHubKeys = [
  'model_name',
  'model_type',
  'extra_gated_prompt',
  'extra_gated_fields',
  'language_bcp47',
  'pretty_name',
  'annotations_creators',
  'task_categories',
  'task_ids',
  'size_categories',
  'license_details',
  'model_creator',
  'quantized_by',
  'base_model_relation',
  'instance_prompt',
  'paper',
  'duplicated_from',
];

export function isModelCardFile(path: string): boolean {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  return base === 'MODEL_CARD.md' || base.toLowerCase().endsWith('.modelcard.md');
}

interface Ctx {
  text: string;
  base: number;
  doc: Document.Parsed;
  diagnostics: CairnDiagnostic[];
}

function diag(ctx: Ctx, code: string, severity: Severity, message: string, span: Span, fixes?: TextFix[]): void {
  ctx.diagnostics.push(
    fixes === undefined || fixes.length === 0
      ? { code, severity, message, span }
      : { code, severity, message, span, fixes },
  );
}

/** The node's span, trailing blank space and line breaks excluded (block collections end at the next line). */
function nodeSpan(ctx: Ctx, node: Node | null | undefined, fallback: Span): Span {
  const r = node?.range;
  if (r === undefined || r === null) return fallback;
  const start = ctx.base + r[0];
  let end = ctx.base + r[1];
  while (end > start && /\s/.test(ctx.text[end - 1] ?? '')) end--;
  return { start, end };
}

/** The value's span; for a missing value, an empty span right after the key's colon. */
function valueSpanOf(ctx: Ctx, pair: Pair, keySpan: Span): Span {
  const v = pair.value as Node | null;
  if (v?.range !== undefined && v.range !== null && !(isScalar(v) && v.value === null && v.range[0] === v.range[1])) {
    return nodeSpan(ctx, v, keySpan);
  }
  const colon = ctx.text.indexOf(':', keySpan.end);
  const at = colon >= 0 && colon - keySpan.end < 4 ? colon + 1 : keySpan.end;
  return { start: at, end: at };
}

function resolve(ctx: Ctx, node: unknown): unknown {
  return isAlias(node) ? node.resolve(ctx.doc) : node;
}

function typeName(node: unknown): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'empty';
    return typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
  }
  return 'a value';
}

/** A scalar rendered as a string (numbers and booleans too, as the Hub does); undefined for null or non-scalars. */
function scalarText(node: unknown): string | undefined {
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  const v = node.value;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

interface MapEntry {
  key: string;
  keySpan: Span;
  valueSpan: Span;
  value: unknown;
  pair: Pair;
}

function entriesOf(ctx: Ctx, map: unknown): MapEntry[] {
  if (!isMap(map)) return [];
  const out: MapEntry[] = [];
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const keyNode = item.key as Node | null;
    const key = scalarText(keyNode) ?? '';
    const keySpan = nodeSpan(ctx, keyNode, nodeSpan(ctx, map, { start: ctx.base, end: ctx.base }));
    out.push({ key, keySpan, valueSpan: valueSpanOf(ctx, item, keySpan), value: resolve(ctx, item.value), pair: item });
  }
  return out;
}

function located(e: MapEntry): Located<string> | undefined {
  const s = scalarText(e.value);
  return s === undefined ? undefined : { value: s, span: e.valueSpan, keySpan: e.keySpan };
}

/** A fix inserting `key: value` as the last key of a block mapping (none for flow mappings). */
function insertKeyFix(ctx: Ctx, map: unknown, lines: string[], title: string): TextFix[] {
  if (!isMap(map) || map.flow === true || map.range === undefined || map.range === null) return [];
  const first = map.items[0];
  const firstKey = isPair(first) ? (first.key as Node | null) : null;
  if (firstKey?.range === undefined || firstKey.range === null) return [];
  const keyStart = ctx.base + firstKey.range[0];
  const lineStart = Math.max(ctx.text.lastIndexOf('\n', keyStart - 1), ctx.text.lastIndexOf('\r', keyStart - 1)) + 1;
  const indent = ' '.repeat(keyStart - lineStart);
  let at = ctx.base + map.range[1];
  while (at > keyStart && /\s/.test(ctx.text[at - 1] ?? '')) at--;
  // After a trailing comment, not inside it.
  const eol = ctx.text.slice(at).search(/\r|\n|$/);
  at += eol;
  const nl = /\r\n/.test(ctx.text) ? '\r\n' : '\n';
  return [
    {
      title,
      span: { start: at, end: at },
      newText: lines.map((l) => `${nl}${indent}${l}`).join(''),
      isPreferred: true,
    },
  ];
}

function parseFrontMatterYaml(
  text: string,
  contentSpan: Span,
  diagnostics: CairnDiagnostic[],
): { value: unknown; entries: FrontMatterEntry[]; metadata: CardMetadata } {
  const metadata: CardMetadata = { licenses: [], metrics: [], modelIndex: [] };
  const src = text.slice(contentSpan.start, contentSpan.end);
  const doc = parseDocument(src, { uniqueKeys: true, prettyErrors: false, strict: false });
  const ctx: Ctx = { text, base: contentSpan.start, doc, diagnostics };
  let syntaxError = false;
  for (const e of doc.errors) {
    syntaxError = true;
    let start = contentSpan.start + Math.min(e.pos[0], src.length);
    let end = Math.max(start, contentSpan.start + Math.min(e.pos[1], src.length));
    const duplicate = e.code === 'DUPLICATE_KEY';
    const lastContent = contentSpan.start + src.trimEnd().length;
    if (start >= lastContent) {
      // Reported at the end of the input (an unclosed bracket or quote): point at the last written line instead.
      end = lastContent;
      start = Math.max(text.lastIndexOf('\n', end - 1), text.lastIndexOf('\r', end - 1)) + 1;
      start += text.slice(start, end).length - text.slice(start, end).trimStart().length;
    } else if (duplicate) {
      // The whole repeated key, not its first character.
      const m = /^[^:\r\n]*?(?=\s*:(?:\s|$))/.exec(text.slice(start, contentSpan.end));
      if (m !== null && m[0].length > 0) end = start + m[0].length;
    }
    const firstLine = e.message.split('\n')[0] ?? e.message;
    diag(
      ctx,
      duplicate ? 'card/duplicate-key' : 'card/yaml-syntax',
      Severity.Error,
      duplicate
        ? `Duplicate key in the front matter: keep one of them (${firstLine}).`
        : `Front matter is not valid YAML: ${firstLine}. Fix the YAML between the two \`---\` lines.`,
      start === end && end < contentSpan.end ? { start, end: end + 1 } : { start, end },
    );
  }
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return { value: undefined, entries: [], metadata };
  if (!isMap(root)) {
    if (!syntaxError) {
      diag(
        ctx,
        'card/front-matter-not-mapping',
        Severity.Error,
        `The front matter must be a YAML mapping (\`key: value\` lines), not ${typeName(root)}.`,
        nodeSpan(ctx, root, contentSpan),
      );
    }
    return { value: undefined, entries: [], metadata };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias to no anchor, or an alias bomb: report it on the first alias and keep the structure unread.
    value = undefined;
    let at: Span = contentSpan;
    visit(doc, {
      Alias(_key, node) {
        at = nodeSpan(ctx, node, contentSpan);
        return visit.BREAK;
      },
    });
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    diag(
      ctx,
      'card/yaml-syntax',
      Severity.Error,
      `Front matter YAML cannot be read: ${reason}. Define the anchor (\`&name\`) before using \`*name\`, and do not nest aliases.`,
      at,
    );
  }
  const entries = entriesOf(ctx, root);
  for (const e of entries) checkTopLevel(ctx, e, metadata);
  return {
    value,
    entries: entries.map(({ key, keySpan, valueSpan, value: v }) => ({
      key,
      keySpan,
      valueSpan,
      value: isScalar(v) ? v.value : v,
    })),
    metadata,
  };
}

function checkTopLevel(ctx: Ctx, e: MapEntry, metadata: CardMetadata): void {
  const v = e.value;
  const isNull = v === null || v === undefined || (isScalar(v) && v.value === null);
  if (e.key === 'license') {
    if (isNull) return;
    const items = isSeq(v)
      ? v.items.map((n) => ({ node: resolve(ctx, n), span: nodeSpan(ctx, n as Node, e.valueSpan) }))
      : [{ node: v, span: e.valueSpan }];
    for (const { node, span } of items) {
      const id = isScalar(node) && typeof node.value === 'string' ? node.value : undefined;
      if (id === undefined) {
        diag(
          ctx,
          'card/invalid-type',
          Severity.Error,
          `\`license\` must be a license id such as \`apache-2.0\`, not ${typeName(node)}.`,
          span,
        );
        continue;
      }
      metadata.licenses.push({ value: id, span, keySpan: e.keySpan });
      if (!isKnownLicense(id)) {
        const near = closest(id, allLicenseIds());
        const fixes = near.map((n, i) => ({
          title: `Change license to '${n}'`,
          span,
          newText: n,
          isPreferred: i === 0,
        }));
        const hint = near.length > 0 ? ` Did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '';
        diag(
          ctx,
          'card/unknown-license',
          Severity.Error,
          `Unknown license id '${id}'.${hint} Use an id from the Hugging Face license list or an SPDX id; for anything else write \`license: other\` with \`license_name\` and \`license_link\`.`,
          span,
          fixes,
        );
      }
    }
    return;
  }
  if (stringKeys.has(e.key)) {
    if (isNull) return;
    if (!isScalar(v)) {
      diag(
        ctx,
        'card/invalid-type',
        Severity.Error,
        `\`${e.key}\` must be a single value, not ${typeName(v)}.`,
        e.valueSpan,
      );
      return;
    }
    const loc = located(e);
    if (loc === undefined) return;
    if (e.key === 'license_name') metadata.licenseName = loc;
    else if (e.key === 'license_link') metadata.licenseLink = loc;
    else if (e.key === 'library_name') metadata.libraryName = loc;
    else if (e.key === 'pipeline_tag') {
      metadata.pipelineTag = loc;
      if (!pipelineTags.includes(loc.value)) {
        const near = closest(loc.value, pipelineTags);
        const fixes = near.map((n, i) => ({
          title: `Change pipeline_tag to '${n}'`,
          span: loc.span,
          newText: n,
          isPreferred: i === 0,
        }));
        const hint = near.length > 0 ? ` Did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '';
        diag(
          ctx,
          'card/unknown-pipeline-tag',
          Severity.Warning,
          `'${loc.value}' is not a Hugging Face pipeline tag.${hint}`,
          loc.span,
          fixes,
        );
      }
    }
    return;
  }
  if (listKeys.has(e.key)) {
    if (isNull) return;
    if (isMap(v)) {
      diag(
        ctx,
        'card/invalid-type',
        Severity.Error,
        `\`${e.key}\` must be a value or a list of values, not a mapping.`,
        e.valueSpan,
      );
      return;
    }
    const items = isSeq(v) ? v.items : [v];
    for (const n of items) {
      const node = resolve(ctx, n);
      const span = nodeSpan(ctx, n as Node, e.valueSpan);
      if (isMap(node) || isSeq(node)) {
        diag(
          ctx,
          'card/invalid-type',
          Severity.Error,
          `Each entry of \`${e.key}\` must be a single value, not ${typeName(node)}.`,
          span,
        );
      } else if (e.key === 'metrics') {
        const s = scalarText(node);
        if (s !== undefined) metadata.metrics.push({ value: s, span, keySpan: e.keySpan });
      }
    }
    return;
  }
  if (e.key === 'model-index') {
    if (isNull) return;
    if (!isSeq(v)) {
      diag(
        ctx,
        'card/invalid-type',
        Severity.Error,
        '`model-index` must be a list of models (`- name: ...` with `results:`).',
        e.valueSpan,
      );
      return;
    }
    v.items.forEach((item, i) => {
      const entry = checkModelIndexEntry(
        ctx,
        resolve(ctx, item),
        nodeSpan(ctx, item as Node, e.valueSpan),
        `model-index[${i}]`,
      );
      if (entry !== undefined) metadata.modelIndex.push(entry);
    });
    return;
  }
  if (e.key === 'cairn') {
    metadata.cairn = checkCairn(ctx, e);
    return;
  }
  if (!knownKeys.includes(e.key) && !otherHubKeys.includes(e.key) && !e.key.startsWith('extra_gated')) {
    const near = closest(e.key, knownKeys, 1).filter((k) => k.length > 3);
    const best = near[0];
    if (best !== undefined && e.key.length > 3) {
      diag(
        ctx,
        'card/unknown-key',
        Severity.Hint,
        `Unknown front-matter key '${e.key}': did you mean '${best}'?`,
        e.keySpan,
        [{ title: `Rename to '${best}'`, span: e.keySpan, newText: best, isPreferred: true }],
      );
    }
  }
}

function missing(ctx: Ctx, where: string, field: string, map: unknown, span: Span, insert: string[]): void {
  diag(
    ctx,
    'card/model-index-missing-field',
    Severity.Error,
    `${where} is missing \`${field}\`, which the Hugging Face Hub requires.`,
    span,
    insertKeyFix(ctx, map, insert, `Add \`${field}\``),
  );
}

/** Span for a finding about a mapping as a whole: its first key (one line), else the node. */
function headSpan(ctx: Ctx, map: unknown, fallback: Span): Span {
  if (isMap(map)) {
    const first = map.items[0];
    if (isPair(first)) return nodeSpan(ctx, first.key as Node, fallback);
  }
  return fallback;
}

/** Checks a required string field; returns it when present. */
function requireString(
  ctx: Ctx,
  where: string,
  map: unknown,
  field: string,
  mapSpan: Span,
  insertValue = '',
): Located<string> | undefined {
  const e = entriesOf(ctx, map).find((x) => x.key === field);
  if (e === undefined) {
    missing(ctx, where, `${field}`, map, headSpan(ctx, map, mapSpan), [
      `${field}: ${insertValue}`.trimEnd() + (insertValue === '' ? ' ' : ''),
    ]);
    return undefined;
  }
  if (isMap(e.value) || isSeq(e.value)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`${where}.${field}\` must be a single value, not ${typeName(e.value)}.`,
      e.valueSpan,
    );
    return undefined;
  }
  const loc = located(e);
  if (loc === undefined) {
    diag(
      ctx,
      'card/model-index-missing-field',
      Severity.Error,
      `\`${where}.${field}\` is empty; the Hugging Face Hub requires a value.`,
      e.keySpan,
    );
  }
  return loc;
}

function subMap(
  ctx: Ctx,
  where: string,
  map: unknown,
  field: string,
  mapSpan: Span,
  insert: string[],
): { node: unknown; span: Span } | undefined {
  const e = entriesOf(ctx, map).find((x) => x.key === field);
  if (e === undefined) {
    missing(ctx, where, field, map, headSpan(ctx, map, mapSpan), insert);
    return undefined;
  }
  if (!isMap(e.value)) {
    const isNull = isScalar(e.value) && e.value.value === null;
    diag(
      ctx,
      isNull ? 'card/model-index-missing-field' : 'card/invalid-type',
      Severity.Error,
      isNull
        ? `\`${where}.${field}\` is empty; write its fields (${insert
            .slice(1)
            .map((l) => `\`${l.trim().replace(/:.*/, '')}\``)
            .join(', ')}).`
        : `\`${where}.${field}\` must be a mapping, not ${typeName(e.value)}.`,
      isNull ? e.keySpan : e.valueSpan,
    );
    return undefined;
  }
  return { node: e.value, span: e.valueSpan };
}

function checkModelIndexEntry(ctx: Ctx, node: unknown, span: Span, where: string): ModelIndexEntry | undefined {
  if (!isMap(node)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`${where}\` must be a mapping with \`name\` and \`results\`, not ${typeName(node)}.`,
      span,
    );
    return undefined;
  }
  const entry: ModelIndexEntry = { span, results: [] };
  const name = requireString(ctx, where, node, 'name', span);
  if (name !== undefined) entry.name = name;
  const results = entriesOf(ctx, node).find((x) => x.key === 'results');
  if (results === undefined) {
    missing(ctx, where, 'results', node, headSpan(ctx, node, span), [
      'results:',
      '- task:',
      '    type: ',
      '  dataset:',
      '    type: ',
      '    name: ',
      '  metrics:',
      '  - type: ',
      '    value: ',
    ]);
    return entry;
  }
  if (!isSeq(results.value)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`${where}.results\` must be a list of results (\`- task:\`, \`dataset:\`, \`metrics:\`), not ${typeName(results.value)}.`,
      results.valueSpan,
    );
    return entry;
  }
  results.value.items.forEach((item, i) => {
    const r = checkResult(
      ctx,
      resolve(ctx, item),
      nodeSpan(ctx, item as Node, results.valueSpan),
      `${where}.results[${i}]`,
    );
    if (r !== undefined) entry.results.push(r);
  });
  return entry;
}

function checkResult(ctx: Ctx, node: unknown, span: Span, where: string): ModelIndexResult | undefined {
  if (!isMap(node)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`${where}\` must be a mapping with \`task\`, \`dataset\` and \`metrics\`, not ${typeName(node)}.`,
      span,
    );
    return undefined;
  }
  const result: ModelIndexResult = { span, metrics: [] };
  const task = subMap(ctx, where, node, 'task', span, ['task:', '  type: ']);
  if (task !== undefined) {
    const t = requireString(ctx, `${where}.task`, task.node, 'type', task.span);
    if (t !== undefined) result.taskType = t;
  }
  const dataset = subMap(ctx, where, node, 'dataset', span, ['dataset:', '  type: ', '  name: ']);
  if (dataset !== undefined) {
    const present = entriesOf(ctx, dataset.node);
    const typeText = present.find((x) => x.key === 'type');
    const nameText = present.find((x) => x.key === 'name');
    const t = requireString(
      ctx,
      `${where}.dataset`,
      dataset.node,
      'type',
      dataset.span,
      nameText === undefined ? '' : (scalarText(nameText.value) ?? ''),
    );
    if (t !== undefined) result.datasetType = t;
    const n = requireString(
      ctx,
      `${where}.dataset`,
      dataset.node,
      'name',
      dataset.span,
      typeText === undefined ? '' : (scalarText(typeText.value) ?? ''),
    );
    if (n !== undefined) result.datasetName = n;
  }
  const metrics = entriesOf(ctx, node).find((x) => x.key === 'metrics');
  if (metrics === undefined) {
    missing(ctx, where, 'metrics', node, headSpan(ctx, node, span), ['metrics:', '- type: ', '  value: ']);
    return result;
  }
  if (!isSeq(metrics.value)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`${where}.metrics\` must be a list of metrics (\`- type: accuracy\` with \`value:\`), not ${typeName(metrics.value)}.`,
      metrics.valueSpan,
    );
    return result;
  }
  metrics.value.items.forEach((item, i) => {
    const m = resolve(ctx, item);
    const mSpan = nodeSpan(ctx, item as Node, metrics.valueSpan);
    const mWhere = `${where}.metrics[${i}]`;
    if (!isMap(m)) {
      diag(
        ctx,
        'card/invalid-type',
        Severity.Error,
        `\`${mWhere}\` must be a mapping with \`type\` and \`value\`, not ${typeName(m)}.`,
        mSpan,
      );
      return;
    }
    const metric: ModelIndexMetric = { span: mSpan };
    const t = requireString(ctx, mWhere, m, 'type', mSpan);
    if (t !== undefined) metric.type = t;
    const nameEntry = entriesOf(ctx, m).find((x) => x.key === 'name');
    if (nameEntry !== undefined) {
      const n = located(nameEntry);
      if (n !== undefined) metric.name = n;
    }
    const valueEntry = entriesOf(ctx, m).find((x) => x.key === 'value');
    if (valueEntry === undefined) {
      missing(ctx, mWhere, 'value', m, headSpan(ctx, m, mSpan), ['value: ']);
    } else if (isScalar(valueEntry.value) && valueEntry.value.value === null) {
      diag(
        ctx,
        'card/model-index-missing-field',
        Severity.Error,
        `\`${mWhere}.value\` is empty; write the measured value.`,
        valueEntry.keySpan,
      );
    } else {
      metric.value = {
        value: isScalar(valueEntry.value) ? valueEntry.value.value : valueEntry.value,
        span: valueEntry.valueSpan,
        keySpan: valueEntry.keySpan,
      };
    }
    result.metrics.push(metric);
  });
  return result;
}

function checkCairn(ctx: Ctx, e: MapEntry): CairnLink | undefined {
  const v = e.value;
  if (v === null || (isScalar(v) && v.value === null)) return undefined;
  if (!isMap(v)) {
    diag(
      ctx,
      'card/invalid-type',
      Severity.Error,
      `\`cairn\` must be a mapping (\`pipeline\`, \`model\`, \`personal_data\`), not ${typeName(v)}.`,
      e.valueSpan,
    );
    return undefined;
  }
  const link: CairnLink = { span: e.valueSpan, keySpan: e.keySpan };
  const names = cairnKeys.map(([k]) => k);
  for (const c of entriesOf(ctx, v)) {
    if (c.key === 'pipeline' || c.key === 'model') {
      const isNull = isScalar(c.value) && c.value.value === null;
      if (isNull) continue;
      const loc = isScalar(c.value) && typeof c.value.value === 'string' ? located(c) : undefined;
      if (loc === undefined) {
        diag(
          ctx,
          'card/invalid-type',
          Severity.Error,
          `\`cairn.${c.key}\` must be a string, not ${typeName(c.value)}.`,
          c.valueSpan,
        );
      } else if (c.key === 'pipeline') link.pipeline = loc;
      else link.model = loc;
    } else if (c.key === 'personal_data') {
      if (isScalar(c.value) && typeof c.value.value === 'boolean') {
        link.personalData = { value: c.value.value, span: c.valueSpan, keySpan: c.keySpan };
      } else {
        diag(
          ctx,
          'card/invalid-type',
          Severity.Error,
          `\`cairn.personal_data\` must be \`true\` or \`false\`, not ${typeName(c.value)}.`,
          c.valueSpan,
        );
      }
    } else {
      const near = closest(c.key, names, 1);
      const best = near[0];
      diag(
        ctx,
        'card/cairn-unknown-key',
        Severity.Warning,
        `Unknown key '${c.key}' in \`cairn:\`.${best === undefined ? '' : ` Did you mean '${best}'?`} Known keys: ${names.join(', ')}.`,
        c.keySpan,
        best === undefined
          ? undefined
          : [{ title: `Rename to '${best}'`, span: c.keySpan, newText: best, isPreferred: true }],
      );
    }
  }
  return link;
}

/** Finds the front matter: `---` on the first line (after a BOM) up to the next `---` or `...` line. */
function findFrontMatter(text: string): { span: Span; contentSpan: Span; closed: boolean } | undefined {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const open = /^---[ \t]*(?:\r\n|\r|\n|$)/.exec(text.slice(start, start + 8));
  if (open === null) return undefined;
  const contentStart = start + open[0].length;
  const close = /^(?:---|\.\.\.)[ \t]*$/m;
  let at = contentStart;
  while (at <= text.length) {
    const m = close.exec(text.slice(at));
    if (m === null) break;
    const lineStart = at + m.index;
    // `$`/`^` with the m flag also match around a lone \r; accept only whole lines.
    const prev = text.charCodeAt(lineStart - 1);
    if (lineStart === contentStart || prev === 10 || prev === 13) {
      const lineEnd = lineStart + m[0].length;
      return { span: { start, end: lineEnd }, contentSpan: { start: contentStart, end: lineStart }, closed: true };
    }
    at = lineStart + 1;
  }
  return { span: { start, end: text.length }, contentSpan: { start: contentStart, end: text.length }, closed: false };
}

export function parseModelCard(file: string, text: string): ParsedModelCard {
  const lines = new LineIndex(text);
  const diagnostics: CairnDiagnostic[] = [];
  let metadata: CardMetadata = { licenses: [], metrics: [], modelIndex: [] };
  let frontMatter: CardFrontMatter | undefined;
  let bodyStart = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const found = findFrontMatter(text);
  if (found !== undefined && !found.closed) {
    diagnostics.push({
      code: 'card/front-matter-unclosed',
      severity: Severity.Error,
      message: 'The front matter opened on line 1 is never closed: add a line with `---` after the metadata.',
      span: { start: found.span.start, end: found.span.start + 3 },
    });
  } else if (found !== undefined) {
    const parsed = parseFrontMatterYaml(text, found.contentSpan, diagnostics);
    metadata = parsed.metadata;
    frontMatter = { ...found, value: parsed.value, entries: parsed.entries };
    bodyStart = found.span.end;
  } else {
    // Front matter after blank lines is not front matter to the Hub: its `---` lines read as Markdown.
    const late = /^(?:[ \t]*(?:\r\n|\r|\n))+(---)[ \t]*(?:\r\n|\r|\n)[^\r\n]*:/.exec(text.slice(bodyStart));
    if (late?.[1] !== undefined) {
      const at = bodyStart + late[0].indexOf('---');
      diagnostics.push({
        code: 'card/front-matter-not-at-start',
        severity: Severity.Warning,
        message:
          'Front matter must start on the first line: remove the blank lines before `---`, or the metadata is read as Markdown.',
        span: { start: at, end: at + 3 },
        fixes: [
          {
            title: 'Remove the blank lines before the front matter',
            span: { start: bodyStart, end: at },
            newText: '',
            isPreferred: true,
          },
        ],
      });
    }
  }
  // Each distinct title is matched against the sections once (big cards repeat their headings); headings are
  // extended in place rather than copied.
  const sectionsByTitle = new Map<string, CardSectionId[]>();
  const headings: CardHeading[] = scanHeadings(text, bodyStart, text.length).map((h) => {
    let sections = sectionsByTitle.get(h.title);
    if (sections === undefined) sectionsByTitle.set(h.title, (sections = sectionsOfHeading(h.title)));
    return Object.assign(h, { sections: [...sections] });
  });
  const card: ParsedModelCard = {
    file,
    text,
    lines,
    bodySpan: { start: bodyStart, end: text.length },
    headings,
    metadata,
    diagnostics,
  };
  if (frontMatter !== undefined) card.frontMatter = frontMatter;
  return card;
}
