import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  checkModelCard,
  checkPipeline,
  isModelCardFile,
  isPipelineFile,
  LineIndex,
  mapGet,
  parseModelCard,
  parsePipeline,
  Severity,
  severityName,
  validateOutputSchema,
  type CairnDiagnostic,
  type PipelineDocument,
  type ValidateDiagnostic,
} from '@cairn/protocol';
import { confine, confiningHost } from '../../util/confine.js';
import { isInside } from '../../util/paths.js';
import { clusterFindings } from '../../cluster/partitions.js';
import { workspaceSettings } from '../../config/workspace.js';
import { workspaceOf } from '../../util/workspace.js';
import { formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';

/** Folders never walked: dependencies, VCS data, Cairn's own store. */
const skipped = new Set(['node_modules', '.git', '.cairn']);

interface Target {
  kind: 'pipeline' | 'card';
  abs: string;
}

function walk(dir: string, out: Target[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (error) {
    throw new Error(`cannot read folder ${dir}: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const name of entries) {
    const abs = path.join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      continue; // a dangling link: nothing to check
    }
    if (isDir) {
      if (!skipped.has(name)) walk(abs, out);
    } else if (isPipelineFile(name)) out.push({ kind: 'pipeline', abs });
    else if (isModelCardFile(name)) out.push({ kind: 'card', abs });
  }
}

/** Markdown files a pipeline names as its model card (`deploy.card`, `model.register` with `card:`), absolute. */
function cardsNamedBy(doc: PipelineDocument, dir: string): string[] {
  const cards: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.toLowerCase().endsWith('.md') && !v.includes('${')) cards.push(path.resolve(dir, v));
  };
  const root = doc.root;
  const deploy = root ? mapGet(root, 'deploy')?.value : undefined;
  if (deploy?.kind === 'map') {
    const card = mapGet(deploy, 'card')?.value;
    if (card?.kind === 'scalar') add(card.value);
  }
  for (const step of doc.symbols.steps.values()) {
    if (step.uses !== 'model.register' || step.entry.value.kind !== 'map') continue;
    const w = mapGet(step.entry.value, 'with')?.value;
    const card = w?.kind === 'map' ? mapGet(w, 'card')?.value : undefined;
    if (card?.kind === 'scalar') add(card.value);
  }
  return cards;
}

function readText(abs: string): string {
  return readFileSync(abs, 'utf8');
}

export const validateCommand: CliCommand = {
  name: 'validate',
  summary:
    'Check pipelines (cairn.yaml, *.cairn.yaml) and model cards (MODEL_CARD.md, *.modelcard.md); folders are walked.',
  usage: 'cairn validate <files or folders…> [--format json]',
  run(args, io) {
    return Promise.resolve(validate(args, io));
  },
};

function validate(args: string[], io: CliIo): number {
  const parsed = parseArgs(args, { value: ['format'] });
  const format = formatOf(parsed);
  if (parsed.positionals.length === 0)
    throw new UsageError('name at least one file or folder (e.g. `cairn validate .`)');
  const targets: Target[] = [];
  for (const arg of parsed.positionals) {
    const abs = path.resolve(io.cwd, arg);
    if (!existsSync(abs)) throw new UsageError(`${arg}: no such file or folder`);
    if (statSync(abs).isDirectory()) walk(abs, targets);
    else if (isModelCardFile(abs) || abs.toLowerCase().endsWith('.md')) targets.push({ kind: 'card', abs });
    else if (isPipelineFile(abs) || /\.ya?ml$/i.test(abs)) targets.push({ kind: 'pipeline', abs });
    else throw new UsageError(`${arg}: not a pipeline (cairn.yaml, *.cairn.yaml) or a model card (*.md)`);
  }
  const display = (abs: string) => {
    const rel = path.relative(io.cwd, abs);
    return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
  };
  // Links are judged against the workspace (as `cairn run` does) when the file is in it, else the file's own folder.
  const workspace = workspaceOf(parsed, io.cwd);
  const rootFor = (abs: string) => (isInside(workspace, abs) ? workspace : path.dirname(abs));
  const results: ValidateDiagnostic[] = [];
  const report = (abs: string, text: string, diagnostics: CairnDiagnostic[]) => {
    const lines = new LineIndex(text);
    for (const d of diagnostics)
      results.push({
        file: display(abs),
        range: lines.rangeOf(d.span),
        severity: severityName(d.severity),
        code: d.code,
        message: d.message,
      });
  };
  const seen = new Set<string>();
  const pipelines = targets.filter((t) => t.kind === 'pipeline');
  // With `executor: slurm`, resource requests are checked against the cluster's partitions too.
  const settings = pipelines.length > 0 ? workspaceSettings(workspace) : undefined;
  const slurm = settings?.executor.value === 'slurm' ? { partition: settings.config.slurm?.partition } : undefined;
  const cards = targets.filter((t) => t.kind === 'card');
  // Which pipelines name which card: cards named by a pipeline are checked too, and know their pipelines.
  const namingCard = new Map<string, string[]>();
  for (const t of pipelines) {
    if (seen.has(t.abs)) continue;
    seen.add(t.abs);
    const text = readText(t.abs);
    const dir = path.dirname(t.abs);
    const doc = parsePipeline(display(t.abs), text);
    const host = { fileExists: (p: string) => existsSync(path.resolve(dir, p)), ...confiningHost(rootFor(t.abs), dir) };
    report(t.abs, text, [...checkPipeline(doc, host), ...(slurm ? clusterFindings(doc, slurm.partition) : [])]);
    for (const card of cardsNamedBy(doc, dir)) {
      namingCard.set(card, [...(namingCard.get(card) ?? []), t.abs]);
      if (existsSync(card) && !cards.some((c) => c.abs === card)) cards.push({ kind: 'card', abs: card });
    }
  }
  for (const t of cards) {
    if (seen.has(t.abs)) continue;
    seen.add(t.abs);
    const text = readText(t.abs);
    const card = parseModelCard(t.abs, text);
    report(
      t.abs,
      text,
      checkModelCard(card, {
        fileExists: (p) => existsSync(path.resolve(path.dirname(t.abs), p)),
        confine: (p) => confine(rootFor(t.abs), p, { base: path.dirname(t.abs) }),
        pipelinesNamingCard: (f) => namingCard.get(f) ?? [],
      }),
    );
  }
  const errors = results.filter((r) => r.severity === severityName(Severity.Error)).length;
  if (format === 'json') {
    io.stdout(JSON.stringify(validateOutputSchema.parse({ diagnostics: results })) + '\n');
  } else {
    for (const r of results)
      io.stdout(
        `${r.file}:${r.range.start.line + 1}:${r.range.start.character + 1} ${r.severity} ${r.code} ${r.message}\n`,
      );
    const count = (s: string) => results.filter((r) => r.severity === s).length;
    const files = seen.size;
    const parts = [
      `${errors} error${errors === 1 ? '' : 's'}`,
      `${count('warning')} warning${count('warning') === 1 ? '' : 's'}`,
      `${count('information') + count('hint')} other`,
    ];
    io.stdout(
      `${files} file${files === 1 ? '' : 's'} checked: ${results.length === 0 ? 'no problems' : parts.join(', ')}.\n`,
    );
  }
  return errors > 0 ? 1 : 0;
}
