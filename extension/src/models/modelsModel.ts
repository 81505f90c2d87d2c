import {
  parsePipeline,
  type Alert,
  type Deployment,
  type GateId,
  type GateReport,
  type GateResult,
  type ModelVersion,
  type ServeInputField,
} from '@cairn/protocol';
import type { LensSpec } from '../codeLens/lensModel.js';
import { formatMetric, keyMetric } from '../views/format.js';
import { Commands } from '../commands/ids.js';

/**
 * What the Models view, the deploy lenses, the gates quick pick and the alert status bar show, as pure functions of the
 * runtime's answers (no vscode import: unit-tested in test/unit/extension/models.test.ts).
 */

const gateNames: Record<GateId, string> = {
  card: 'card',
  'card-metrics': 'card metrics',
  evaluation: 'evaluation',
  drift: 'drift',
};

/** "gates 4/4 ✓" or "gates 3/4 — card: missing section Limitations" (the first failing gate's detail). */
export function gateSummary(report: GateReport): { title: string; tooltip: string } {
  const ok = report.gates.filter((g) => g.state !== 'fail');
  const failing = report.gates.filter((g) => g.state === 'fail');
  const first = failing[0];
  const title = first
    ? `$(warning) gates ${ok.length}/${report.gates.length} — ${gateNames[first.gate]}: ${shortDetail(first.detail)}`
    : `$(pass) gates ${ok.length}/${report.gates.length} ✓`;
  const tooltip = [
    `Promotion gates of ${report.name} v${report.version}:`,
    ...report.gates.map((g) => `${gateIcon(g)} ${gateNames[g.gate]}: ${g.detail}`),
  ].join('\n');
  return { title, tooltip };
}

/** A gate's detail without a leading `FILE:LINE:` (the lens is short; the tooltip keeps the whole line). */
function shortDetail(detail: string): string {
  const text = detail.replace(/^[^\s:]+:\d+:\s*/, '').replace(/^line \d+:\s*/, '');
  return text.length > 70 ? `${text.slice(0, 69)}…` : text;
}

function gateIcon(g: GateResult): string {
  return g.state === 'pass' ? '✓' : g.state === 'overridden' ? '⚠ (overridden)' : '✗';
}

export interface GatePickItem {
  label: string;
  description: string;
  detail: string;
  gate: GateId;
}

/** The gates quick pick: one row per gate with its state and the detail line. */
export function gateItems(report: GateReport): GatePickItem[] {
  return report.gates.map((g) => ({
    label: `${g.state === 'pass' ? '$(pass)' : g.state === 'overridden' ? '$(warning)' : '$(error)'} ${gateNames[g.gate]}`,
    description: g.state === 'overridden' && g.override ? `overridden: ${g.override.reason}` : g.state,
    // The file is named unless the detail starts with it already (`MODEL_CARD.md:12: …`).
    detail:
      g.file && !g.detail.startsWith(g.file)
        ? `${g.detail} (${g.file}${g.line === undefined ? '' : `:${g.line + 1}`})`
        : g.detail,
    gate: g.gate,
  }));
}

export function failingGates(report: GateReport): GateId[] {
  return report.gates.filter((g) => g.state === 'fail').map((g) => g.gate);
}

/** "v3 · champion, production" description of a version node; metrics go to the tooltip. */
export function versionDescription(v: ModelVersion): string {
  const metric = keyMetric(v.metrics);
  return [
    v.aliases.length > 0 ? v.aliases.join(', ') : undefined,
    metric ? `${metric.key} ${formatMetric(metric.value)}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
}

export function versionTooltip(v: ModelVersion): string {
  const metrics = Object.entries(v.metrics)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, value]) => `  ${k}: ${formatMetric(value)}`);
  return [
    `${v.name} v${v.version}${v.aliases.length > 0 ? ` (${v.aliases.join(', ')})` : ''}`,
    `registered ${new Date(v.createdAt).toISOString().replace('T', ' ').slice(0, 16)}${v.runId === null ? '' : ` by run #${v.runId}${v.step ? ` (step ${v.step})` : ''}`}`,
    `model: ${v.path}${v.cardPath ? `\ncard: ${v.cardPath}` : ''}`,
    metrics.length > 0 ? `metrics:\n${metrics.join('\n')}` : 'no metrics recorded',
  ].join('\n');
}

/** "http://127.0.0.1:5001 · v3 + challenger v4 (20%) · 120 logged, 40 labelled". */
export function deploymentDescription(d: Deployment): string {
  const arms = d.challenger
    ? ` + challenger ${d.challenger.version === null ? d.challenger.ref : `v${d.challenger.version}`} (${Math.round(d.challenger.split * 100)}%)`
    : '';
  const served = d.version === null ? d.ref : `v${d.version}`;
  return `${d.status === 'serving' ? d.url : d.status} · ${served}${arms} · ${d.logged} logged, ${d.labelled} labelled`;
}

/** The status bar text for the open alerts ("$(warning) 1 drift alert", "$(warning) 3 alerts"); undefined when none. */
export function alertStatusText(open: readonly Alert[]): string | undefined {
  if (open.length === 0) return undefined;
  const kinds = new Set(open.map((a) => a.kind));
  const kind = kinds.size === 1 ? `${open[0]?.kind === 'drift' ? 'drift' : 'online-metric'} ` : '';
  return `$(warning) ${open.length} ${kind}alert${open.length === 1 ? '' : 's'}`;
}

/** A request body in the served model's shape (one row: 0 for numbers, "" for other columns), for the curl example. */
export function sampleRecord(inputs: readonly ServeInputField[]): Record<string, number | string> {
  return Object.fromEntries(inputs.map((f) => [f.name, f.type === 'number' ? 0 : '']));
}

/** A shell-safe curl command for POST /invocations (single-quoted body; `'` inside escaped). */
export function curlCommand(url: string, token: string | null, inputs: readonly ServeInputField[] | undefined): string {
  const body = JSON.stringify({
    dataframe_records: [inputs && inputs.length > 0 ? sampleRecord(inputs) : { feature: 0 }],
  });
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const auth = token === null ? [] : [`-H ${quote(`Authorization: Bearer ${token}`)}`];
  return [
    'curl -s',
    ...auth,
    `-H 'Content-Type: application/json'`,
    `-d ${quote(body)}`,
    quote(`${url.replace(/\/$/, '')}/invocations`),
  ].join(' ');
}

/** A `model.register` step of a pipeline: where its key is, and the model and card it registers. */
export interface RegisterStep {
  step: string;
  keyStart: number;
  model: string | undefined;
  card: string | undefined;
}

/** The `uses: model.register` steps of a pipeline text, with `with.name` and `with.card` when they are plain strings. */
export function registerSteps(file: string, text: string): RegisterStep[] {
  const doc = parsePipeline(file, text);
  const value = doc.value;
  const steps =
    typeof value === 'object' &&
    value !== null &&
    'steps' in value &&
    typeof value.steps === 'object' &&
    value.steps !== null
      ? (value.steps as Record<string, unknown>)
      : {};
  const out: RegisterStep[] = [];
  for (const s of doc.symbols.steps.values()) {
    if (s.uses !== 'model.register') continue;
    const raw = steps[s.name];
    const withBlock =
      typeof raw === 'object' && raw !== null && 'with' in raw && typeof raw.with === 'object' && raw.with !== null
        ? (raw.with as Record<string, unknown>)
        : {};
    const str = (v: unknown): string | undefined => (typeof v === 'string' && !v.includes('${') ? v : undefined);
    out.push({ step: s.name, keyStart: s.keySpan.start, model: str(withBlock['name']), card: str(withBlock['card']) });
  }
  return out.sort((a, b) => a.keyStart - b.keyStart);
}

/**
 * The pipeline's `deploy:` block, when the model it deploys is a registered one: the register step whose `with.model`
 * is the block's `model:` (as written), else the pipeline's only named register step. Its lenses go on the `deploy:` key.
 */
export function deployBlock(file: string, text: string): { keyStart: number; model: string } | undefined {
  const doc = parsePipeline(file, text);
  const entry = doc.root?.entries.find((e) => e.key === 'deploy');
  if (!entry) return undefined;
  const value = doc.value;
  const raw = typeof value === 'object' && value !== null && 'deploy' in value ? value.deploy : undefined;
  const deployed =
    typeof raw === 'object' && raw !== null && 'model' in raw && typeof raw.model === 'string' ? raw.model : undefined;
  const steps =
    typeof value === 'object' &&
    value !== null &&
    'steps' in value &&
    typeof value.steps === 'object' &&
    value.steps !== null
      ? (value.steps as Record<string, unknown>)
      : {};
  const registers = registerSteps(file, text).filter((r) => r.model !== undefined);
  const modelOf = (step: string): unknown => {
    const s = steps[step];
    return typeof s === 'object' &&
      s !== null &&
      'with' in s &&
      typeof s.with === 'object' &&
      s.with !== null &&
      'model' in s.with
      ? s.with.model
      : undefined;
  };
  const match =
    registers.find((r) => deployed !== undefined && modelOf(r.step) === deployed) ??
    (new Set(registers.map((r) => r.model)).size === 1 ? registers[0] : undefined);
  return match?.model === undefined ? undefined : { keyStart: entry.keySpan.start, model: match.model };
}

/** Same path, compared as workspace-relative POSIX paths (`./MODEL_CARD.md` and `MODEL_CARD.md` are one file). */
export function samePath(a: string, b: string): boolean {
  const norm = (p: string): string => p.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+/g, '/');
  return norm(a) === norm(b);
}

/** What the deploy lenses of one place (a model card, a `model.register` step) know. */
export interface DeployLensInput {
  offset: number;
  model: string;
  trusted: boolean;
  /** The version the lenses act on (the model's latest); undefined when the model is not registered yet. */
  version: number | undefined;
  /** Its gate report, or why there is none. */
  gates: GateReport | { error: string } | undefined;
  /** A deployment of the model that is serving now. */
  serving: Deployment | undefined;
  /** The pipeline whose `deploy:` key carries the lens: "Deploy locally" serves with its settings. */
  pipeline?: string;
}

/**
 * Lenses on a model card / register step: "Deploy locally", the gate state (click: the promotion flow with the gates),
 * and the URL of a running deployment (click: copy curl). Untrusted: one lens that says why deploying is off.
 */
export function deployLenses(i: DeployLensInput): Array<LensSpec<never>> {
  if (!i.trusted) {
    return [
      {
        offset: i.offset,
        title: '$(shield) Deploying is off in Restricted Mode',
        command: Commands.explainRestricted,
        args: [],
        tooltip: 'Cairn serves nothing in an untrusted workspace: serving loads the model and its transforms.',
      },
    ];
  }
  if (i.version === undefined) {
    return [
      {
        offset: i.offset,
        title: `$(info) ${i.model} is not registered yet: run the pipeline to deploy it`,
        command: '',
        args: [],
        tooltip: 'A run of the model.register step registers a version; then it can be deployed from here.',
      },
    ];
  }
  const target = { name: i.model, version: i.version };
  const lenses: Array<LensSpec<never>> = [
    i.pipeline === undefined
      ? {
          offset: i.offset,
          title: `$(rocket) Deploy locally`,
          command: Commands.deployModel,
          args: [target],
          tooltip: `Serve ${i.model} v${i.version} on 127.0.0.1 with a token (cairn serve)`,
        }
      : {
          offset: i.offset,
          title: `$(rocket) Deploy locally`,
          command: Commands.deployModel,
          args: [{ ...target, pipeline: i.pipeline }],
          tooltip: `Serve ${i.model} v${i.version} with a token and this deploy: block's serve (host, port) settings (cairn serve --pipeline)`,
        },
  ];
  if (i.gates && 'error' in i.gates) {
    lenses.push({
      offset: i.offset,
      title: '$(question) gates: unknown',
      command: '',
      args: [],
      tooltip: i.gates.error,
    });
  } else if (i.gates) {
    const s = gateSummary(i.gates);
    lenses.push({
      offset: i.offset,
      title: s.title,
      command: Commands.promoteModel,
      args: [target],
      tooltip: `${s.tooltip}\nClick to promote v${i.version} (the gates are shown first).`,
    });
  }
  if (i.serving) {
    lenses.push({
      offset: i.offset,
      title: `$(globe) serving at ${i.serving.url}`,
      command: Commands.copyCurl,
      args: [{ kind: 'deployment', name: i.model, deployment: i.serving }],
      tooltip: 'Copy a curl command for POST /invocations',
    });
  }
  return lenses;
}
