import { Severity, type CairnDiagnostic, type TextFix } from '../diagnostics.js';
import type { Span } from '../text.js';
import { cardSection, requiredSectionIds, sectionTemplate, type CardSectionId } from './sections.js';
import type { CardHeading, ModelCardHost, ParsedModelCard } from './types.js';
import { dirnameOf, resolvePath } from './util.js';
import { describeEscape } from '../paths/confine.js';

/** The pipeline file `cairn.pipeline` points to, resolved against the card's folder; undefined when not set. */
export function linkedPipeline(card: ParsedModelCard): string | undefined {
  const p = card.metadata.cairn?.pipeline?.value;
  return p === undefined || p.trim() === '' ? undefined : resolvePath(dirnameOf(card.file), p.trim());
}

/** Every finding about a card: front-matter syntax and schema, sections, personal data, links and claimed metrics. */
export function checkModelCard(card: ParsedModelCard, host: ModelCardHost): CairnDiagnostic[] {
  const out: CairnDiagnostic[] = [...card.diagnostics];
  checkLicense(card, out);
  const pipelines = checkPipelineLink(card, host, out);
  checkSections(card, out);
  checkPersonalData(card, host, pipelines, out);
  checkMetrics(card, host, out);
  return out.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end || a.code.localeCompare(b.code));
}

function checkLicense(card: ParsedModelCard, out: CairnDiagnostic[]): void {
  const { licenses, licenseName, licenseLink } = card.metadata;
  const other = licenses.find((l) => l.value.toLowerCase() === 'other');
  if (other === undefined || licenseName !== undefined) return;
  const nl = lineBreak(card.text);
  const eol = endOfLine(card.text, other.span.end);
  const insert = `${nl}license_name: my-license${licenseLink === undefined ? `${nl}license_link: LICENSE` : ''}`;
  out.push({
    code: 'card/license-name-missing',
    severity: Severity.Warning,
    message:
      '`license: other` needs `license_name` (a short id for the license) and `license_link` (where its text is, e.g. `LICENSE`).',
    span: other.span,
    fixes: [
      {
        title: 'Add `license_name` and `license_link`',
        span: { start: eol, end: eol },
        newText: insert,
        isPreferred: true,
      },
    ],
  });
}

function checkPipelineLink(card: ParsedModelCard, host: ModelCardHost, out: CairnDiagnostic[]): string[] {
  const pipelines: string[] = [];
  const link = card.metadata.cairn?.pipeline;
  const resolved = linkedPipeline(card);
  if (link !== undefined && resolved !== undefined) {
    const escape = host.confine?.(resolved);
    if (escape?.kind === 'outside') {
      out.push({
        code: 'card/link-escapes',
        severity: Severity.Error,
        message:
          `\`cairn.pipeline\` points to '${link.value}', which is outside the workspace: ` +
          `it ${describeEscape(escape)}. ` +
          'Link a pipeline inside the workspace (a symbolic link to one elsewhere is not followed).',
        span: link.span,
      });
    } else if (host.fileExists(resolved)) pipelines.push(resolved);
    else {
      out.push({
        code: 'card/pipeline-not-found',
        severity: Severity.Error,
        message: `\`cairn.pipeline\` points to '${link.value}', which does not exist (looked for ${resolved}). Fix the path; it is relative to the card's folder.`,
        span: link.span,
      });
    }
  }
  for (const p of host.pipelinesNamingCard?.(card.file) ?? []) if (!pipelines.includes(p)) pipelines.push(p);
  return pipelines;
}

/** Where section-level findings about the whole card go: the title (first level-1 heading), else the first line. */
export function cardAnchor(card: ParsedModelCard): Span {
  const title = card.headings.find((h) => h.level === 1) ?? card.headings[0];
  if (title !== undefined) return title.title === '' ? title.span : title.titleSpan;
  const body = card.text.slice(card.bodySpan.start);
  const lead = body.length - body.trimStart().length;
  const start = card.bodySpan.start + lead;
  return { start, end: endOfLine(card.text, start) };
}

/** The first and last heading counting as each section: one pass per card, not one per question (huge cards). */
const sectionIndexes = new WeakMap<
  readonly CardHeading[],
  Map<CardSectionId, { first: CardHeading; last: CardHeading }>
>();

function sectionIndex(card: ParsedModelCard): Map<CardSectionId, { first: CardHeading; last: CardHeading }> {
  let index = sectionIndexes.get(card.headings);
  if (index === undefined) {
    index = new Map();
    for (const h of card.headings) {
      for (const id of h.sections) {
        const seen = index.get(id);
        if (seen === undefined) index.set(id, { first: h, last: h });
        else seen.last = h;
      }
    }
    sectionIndexes.set(card.headings, index);
  }
  return index;
}

function hasSection(card: ParsedModelCard, id: CardSectionId): boolean {
  return sectionIndex(card).has(id);
}

function lineBreak(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

function endOfLine(text: string, offset: number): number {
  const rest = text.slice(offset).search(/\r|\n/);
  return rest < 0 ? text.length : offset + rest;
}

/** A fix inserting `section` from the template after the sections that precede it in the card's order. */
export function insertSectionFix(card: ParsedModelCard, section: CardSectionId): TextFix {
  // Privacy goes next to the ethical considerations it details.
  const order: CardSectionId[] = [...requiredSectionIds];
  order.splice(order.indexOf('ethicalConsiderations') + 1, 0, 'privacy');
  const k = order.indexOf(section);
  let at = card.text.length;
  let level = 2;
  let before = true;
  const index = sectionIndex(card);
  const lastOf = (id: CardSectionId): CardHeading | undefined => index.get(id)?.last;
  const firstOf = (id: CardSectionId): CardHeading | undefined => index.get(id)?.first;
  const prev = order
    .slice(0, k)
    .reverse()
    .map(lastOf)
    .find((h) => h !== undefined);
  if (prev !== undefined) {
    at = prev.contentSpan.end;
    level = prev.level;
  } else {
    const next = order
      .slice(k + 1)
      .map(firstOf)
      .find((h) => h !== undefined);
    if (next !== undefined) {
      at = next.span.start;
      level = next.level;
      before = false;
    }
  }
  const nl = lineBreak(card.text);
  const head = card.text.slice(Math.max(0, at - 2), at);
  const prefix =
    !before || at === 0 || /(\r\n|\r|\n)(\r\n|\r|\n)$|^\n$/.test(head) ? '' : /(\r\n|\r|\n)$/.test(head) ? nl : nl + nl;
  let body = sectionTemplate(section, level).replace(/\n/g, nl);
  if (before && at === card.text.length) body = body.replace(/(\r\n|\n)$/, '');
  return {
    title: `Add the '${cardSection(section).title}' section`,
    span: { start: at, end: at },
    newText: prefix + body,
    isPreferred: true,
  };
}

function checkSections(card: ParsedModelCard, out: CairnDiagnostic[]): void {
  const anchor = cardAnchor(card);
  for (const id of requiredSectionIds) {
    if (hasSection(card, id)) continue;
    const spec = cardSection(id);
    const examples = spec.aliases.filter((a) => a !== spec.title.toLowerCase()).slice(0, 3);
    out.push({
      code: 'card/missing-section',
      severity: Severity.Warning,
      message: `The card has no '${spec.title}' section: ${spec.purpose} Add it${examples.length > 0 ? `, or a heading such as ${examples.map((e) => `'${e}'`).join(', ')}` : ''}.`,
      span: anchor,
      fixes: [insertSectionFix(card, id)],
    });
  }
  // Report the innermost sections (those without subsections): they are where the text has to be written; a parent
  // whose subsections hold the content needs no text of its own.
  card.headings.forEach((h, i) => {
    const next = card.headings[i + 1];
    const hasChild = next !== undefined && next.span.start < h.contentSpan.end;
    if (hasChild || h.title === '' || h.content === 'text') return;
    const placeholder = h.content === 'placeholder';
    out.push({
      code: placeholder ? 'card/placeholder-section' : 'card/empty-section',
      severity: Severity.Warning,
      message: placeholder
        ? `Section '${h.title}' holds only template placeholders (comments, "[More Information Needed]", TODO): write its content.`
        : `Section '${h.title}' is empty: write its content or remove the heading.`,
      span: h.titleSpan,
    });
  });
}

function checkPersonalData(
  card: ParsedModelCard,
  host: ModelCardHost,
  pipelines: string[],
  out: CairnDiagnostic[],
): void {
  if (hasSection(card, 'privacy')) return;
  const declared = card.metadata.cairn?.personalData;
  const flaggedBy = pipelines.find((p) => host.pipelineHasPersonalData?.(p) === true);
  if (declared?.value !== true && flaggedBy === undefined) return;
  const why =
    declared?.value === true
      ? 'declares `cairn.personal_data: true`'
      : `is linked to ${flaggedBy ?? 'a pipeline'}, whose data is flagged as personal`;
  const fix = insertSectionFix(card, 'privacy');
  out.push({
    code: 'card/personal-data-without-privacy',
    severity: Severity.Error,
    message: `The card ${why} but has no Privacy section: say which personal data was used, its legal basis and how it is protected.`,
    span: declared?.value === true ? declared.span : cardAnchor(card),
    fixes: [fix],
  });
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?\s*%?\s*$/i.test(v)) {
    const n = Number.parseFloat(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Half a unit in the last written decimal place: "0.91" matches anything that rounds to it. */
function tolerance(written: string): number {
  const m = /\.(\d+)/.exec(written);
  const decimals = m?.[1]?.replace(/e.*/i, '').length ?? 0;
  return 0.5 * 10 ** -decimals + 1e-12;
}

/** The one metric-name normalisation (card claims vs tracked names): case and spaces/hyphens ignored. */
export const metricKey = (s: string): string => s.toLowerCase().replace(/[\s-]+/g, '_');

function checkMetrics(card: ParsedModelCard, host: ModelCardHost, out: CairnDiagnostic[]): void {
  if (host.trackedMetrics === undefined) return;
  for (const entry of card.metadata.modelIndex) {
    const model = card.metadata.cairn?.model?.value ?? entry.name?.value;
    if (model === undefined) continue;
    const tracked = host.trackedMetrics(model);
    if (tracked === undefined) continue;
    const byKey = new Map(Object.entries(tracked).map(([k, v]) => [metricKey(k), { k, v }]));
    for (const result of entry.results) {
      for (const m of result.metrics) {
        if (m.value === undefined || m.type === undefined) continue;
        const claimed = numeric(m.value.value);
        if (claimed === undefined) continue;
        const t =
          byKey.get(metricKey(m.type.value)) ?? (m.name === undefined ? undefined : byKey.get(metricKey(m.name.value)));
        if (t === undefined || !Number.isFinite(t.v)) continue;
        const written = card.text.slice(m.value.span.start, m.value.span.end).trim();
        const tol = tolerance(written);
        if (Math.abs(claimed - t.v) <= tol || Math.abs(claimed - 100 * t.v) <= tol) continue;
        out.push({
          code: 'card/metric-mismatch',
          severity: Severity.Warning,
          message: `The card claims ${m.type.value} = ${written}, but Cairn tracked ${t.k} = ${t.v} for model '${model}'. Update the value or re-run the evaluation.`,
          span: m.value.span,
          fixes: [
            { title: `Use the tracked value ${t.v}`, span: m.value.span, newText: String(t.v), isPreferred: true },
          ],
        });
      }
    }
  }
}
