import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  checkModelCard,
  describeEscape,
  gateIds,
  metricKey,
  parseModelCard,
  Severity,
  type GateId,
  type GateReport,
  type GateResult,
  type ModelVersion,
  type ParsedModelCard,
  type Promotion,
  type RunGates,
} from '@cairn/protocol';
import type { ObjectStore } from '../cas/objectStore.js';
import { pipelineGates } from '../executor/executor.js';
import { loadPipeline } from '../executor/loadPipeline.js';
import { confine } from '../util/confine.js';
import type { Store } from '../store/store.js';
import { sha256File } from '../util/hash.js';
import { checkAlias, ModelRegistry, moveAlias, publicMove, RegistryError } from './registry.js';

/**
 * Promotion gates (issue 6; contract: GateReport in protocol/src/runtime/deploy.ts), checked in this order:
 * - card: the version's model card has no error and every Mitchell section the spec requires;
 * - card-metrics: what the card's `model-index` claims matches the tracked metrics at the printed precision;
 * - evaluation: every evaluation `gate:` of the registering run's pipeline (as stored with the run) passed in that run;
 * - drift: no open drift alert for this version.
 * `promote` moves an alias only when each gate passes or is overridden with a reason (stored in gate_overrides and in
 * the alias history). `cairn models alias` stays the raw, ungated move (docs/cli.md, "Promotion gates").
 */

export interface GateContext {
  store: Store;
  objects: ObjectStore;
  workspace: string;
}

export interface PromoteOptions {
  override?: readonly GateId[];
  reason?: string;
  actor: string;
}

/** The card to check: the registered copy from the artifact store, else the workspace file. */
interface CardText {
  file: string;
  text: string;
  /** Said in each card detail when the workspace file no longer is the registered one. */
  note: string;
}

async function cardOf(ctx: GateContext, v: ModelVersion): Promise<CardText | string> {
  if (v.cardPath === null)
    return `version ${v.version} was registered without a model card: give model.register a \`card:\` and register again`;
  const abs = path.resolve(ctx.workspace, v.cardPath);
  // The workspace file is read only where it really is inside the workspace (a link swapped in since is not followed).
  const where = confine(ctx.workspace, abs);
  if (where.kind !== 'inside') {
    const how = `it ${describeEscape(where)}; replace the link by the card itself and register again`;
    return `the card ${v.cardPath} of version ${v.version} is outside the workspace: ${how}`;
  }
  const current = existsSync(abs) ? await sha256File(abs) : null;
  if (v.cardHash !== null && (await ctx.objects.has(v.cardHash))) {
    const text = readFileSync(ctx.objects.pathOf(v.cardHash), 'utf8');
    const note =
      current === null
        ? ` (the registered copy; ${v.cardPath} is gone from the workspace)`
        : current !== v.cardHash
          ? ` (the registered copy; ${v.cardPath} changed since registration: register again to check the new text)`
          : '';
    return { file: v.cardPath, text, note };
  }
  if (current === null)
    return `the card ${v.cardPath} of version ${v.version} is neither in the artifact store nor in the workspace: restore it and register again`;
  const note =
    v.cardHash !== null && current !== v.cardHash
      ? ` (${v.cardPath} changed since registration; the registered copy is not in the artifact store)`
      : '';
  return { file: v.cardPath, text: readFileSync(abs, 'utf8'), note };
}

function lineOf(card: ParsedModelCard, offset: number): number {
  return card.lines.positionAt(offset).line;
}

function cardGate(ctx: GateContext, card: CardText | string): GateResult {
  if (typeof card === 'string') return { gate: 'card', state: 'fail', detail: card };
  const parsed = parseModelCard(card.file, card.text);
  const dir = path.dirname(path.resolve(ctx.workspace, card.file));
  const host = {
    fileExists: (p: string) => existsSync(path.resolve(dir, p)),
    confine: (p: string) => confine(ctx.workspace, p, { base: dir }),
  };
  const findings = checkModelCard(parsed, host).filter(
    (d) => d.severity === Severity.Error || d.code === 'card/missing-section',
  );
  if (findings.length === 0)
    return {
      gate: 'card',
      state: 'pass',
      detail: `${card.file}: no errors, every required section present${card.note}`,
      file: card.file,
      line: 0,
    };
  const first = findings[0];
  const line = first === undefined ? 0 : lineOf(parsed, first.span.start);
  const missing = findings
    .filter((d) => d.code === 'card/missing-section')
    .map((d) => /'([^']+)'/.exec(d.message)?.[1] ?? d.message);
  const errors = findings.filter((d) => d.code !== 'card/missing-section');
  const parts: string[] = [];
  if (missing.length > 0)
    parts.push(
      `missing section${missing.length === 1 ? '' : 's'} ${missing.map((m) => `"${m}"`).join(', ')} (add ${missing.length === 1 ? 'it' : 'them'}: the editor's quick fix inserts the template)`,
    );
  for (const e of errors) parts.push(`${e.code} at line ${lineOf(parsed, e.span.start) + 1}: ${e.message}`);
  return {
    gate: 'card',
    state: 'fail',
    detail: `${card.file}:${line + 1}: ${parts.join('; ')}${card.note}`,
    file: card.file,
    line,
  };
}

/** The tracked metrics of a version: its snapshot, completed by the registering run's latest metrics. */
async function trackedOf(ctx: GateContext, v: ModelVersion): Promise<Record<string, number>> {
  const fromRun = v.runId === null ? undefined : await ctx.store.runs.latestMetrics(v.runId);
  return { ...fromRun, ...v.metrics };
}

async function cardMetricsGate(ctx: GateContext, v: ModelVersion, card: CardText | string): Promise<GateResult> {
  if (typeof card === 'string') return { gate: 'card-metrics', state: 'fail', detail: card };
  const tracked = await trackedOf(ctx, v);
  const parsed = parseModelCard(card.file, card.text);
  const claims = parsed.metadata.modelIndex
    .flatMap((e) => e.results.flatMap((r) => r.metrics))
    .filter((m) => m.type !== undefined && m.value !== undefined);
  if (claims.length === 0)
    return {
      gate: 'card-metrics',
      state: 'pass',
      detail: `${card.file}: no metric claims${card.note}`,
      file: card.file,
      line: 0,
    };
  // The checker's own comparison (tolerance = the printed precision, or a percentage), against this version's metrics.
  const mismatches = checkModelCard(parsed, { fileExists: () => true, trackedMetrics: () => tracked }).filter(
    (d) => d.code === 'card/metric-mismatch',
  );
  const keys = new Set(Object.keys(tracked).map(metricKey));
  const unverifiable = claims.filter(
    (m) => !keys.has(metricKey(m.type?.value ?? '')) && (m.name === undefined || !keys.has(metricKey(m.name.value))),
  );
  const problems = [
    ...mismatches.map((d) => ({
      line: lineOf(parsed, d.span.start),
      text: d.message.replace(/ for model '[^']*'/, ` for version ${v.version}`),
    })),
    ...unverifiable.map((m) => ({
      line: lineOf(parsed, m.span.start),
      text: `the card claims ${m.type?.value ?? '?'} but version ${v.version} tracked no such metric (tracked: ${Object.keys(tracked).join(', ') || 'none'}); fix the metric type or remove the claim`,
    })),
  ].sort((a, b) => a.line - b.line);
  if (problems.length === 0)
    return {
      gate: 'card-metrics',
      state: 'pass',
      detail: `${card.file}: ${claims.length === 1 ? 'the claimed metric matches' : `${claims.length} claimed metrics match`} the tracked values${card.note}`,
      file: card.file,
      line: 0,
    };
  const first = problems[0]?.line ?? 0;
  return {
    gate: 'card-metrics',
    state: 'fail',
    detail: `${card.file}:${first + 1}: ${problems.map((p) => `${problems.length > 1 ? `line ${p.line + 1}: ` : ''}${p.text}`).join('; ')}${card.note}`,
    file: card.file,
    line: first,
  };
}

/** `rmse ≤ 1`, with the value the run tracked when there is one: `rmse=0.9137 ≤ 1`. */
function boundsText(gate: RunGates[string], latest: Map<string, number>): string {
  return Object.entries(gate)
    .map(([k, b]) => {
      const value = latest.get(k);
      const shown = value === undefined ? k : `${k}=${Number.isInteger(value) ? value : value.toPrecision(4)}`;
      return `${shown}${b.min !== undefined ? ` ≥ ${b.min}` : ''}${b.max !== undefined ? ` ≤ ${b.max}` : ''}`;
    })
    .join(', ');
}

/**
 * The executor fails a step whose `gate:` bounds are not met (error `gate failed: …` / `gate on …`) and never caches
 * that failure, so the registering run's step statuses tell whether its gates passed. Which steps carry gates, and
 * their bounds, come from the run (stored when it started, runs.gates_json); for a run recorded before runs stored
 * them, from the pipeline file as it is now, which the detail says.
 */
async function evaluationGate(ctx: GateContext, v: ModelVersion): Promise<GateResult> {
  if (v.runId === null)
    return {
      gate: 'evaluation',
      state: 'fail',
      detail: `the run that registered version ${v.version} was deleted: its evaluation gates cannot be checked (override with a reason, or register from a new run)`,
    };
  const runId = v.runId;
  const file = await ctx.store.runs.pipelineFile(runId);
  if (file === undefined) return { gate: 'evaluation', state: 'fail', detail: `run ${runId} is not in the store` };
  const run = { file };
  const steps = await ctx.store.runs.steps(runId);
  const failed = steps.filter((s) => s.status === 'failed' && s.error !== null && /^gate (failed|on )/.test(s.error));
  const rel = path.relative(ctx.workspace, path.resolve(ctx.workspace, run.file)).split(path.sep).join('/');
  if (failed.length > 0) {
    return {
      gate: 'evaluation',
      state: 'fail',
      detail: `run ${runId}: ${failed.map((s) => `step ${s.step}: ${s.error ?? ''}`).join('; ')} — improve the model (or the gate in ${rel}) and register from a run that passes`,
      file: rel,
    };
  }
  let gates = await ctx.store.runs.gates(runId);
  let source = `${rel} as it was when run ${runId} started`;
  if (gates === null) {
    const legacy = `run ${runId} predates stored gates: read from ${rel} as it is now`;
    const loaded = loadPipeline(run.file, { cwd: ctx.workspace, workspace: ctx.workspace });
    if (!loaded.ok) {
      return {
        gate: 'evaluation',
        state: 'pass',
        detail: `run ${runId}: no step failed a gate (${legacy}, but it cannot be read, so the gated steps were not listed: ${loaded.message ?? 'it has errors'})`,
        file: rel,
      };
    }
    gates = pipelineGates(loaded.pipeline);
    source = `${rel} (${legacy})`;
  }
  const gated = Object.entries(gates).filter(([, g]) => Object.keys(g).length > 0);
  if (gated.length === 0)
    return { gate: 'evaluation', state: 'pass', detail: `no evaluation gate defined in ${source}`, file: rel };
  const byName = new Map(steps.map((s) => [s.step, s]));
  const notRun = gated.filter(([name]) => byName.get(name)?.status !== 'succeeded');
  if (notRun.length > 0) {
    return {
      gate: 'evaluation',
      state: 'fail',
      detail: `run ${runId} did not pass the gated step${notRun.length === 1 ? '' : 's'} ${notRun.map(([name]) => `${name} (${byName.get(name)?.status ?? 'not in the run'})`).join(', ')} of ${source}: run the pipeline in full and register from that run`,
      file: rel,
    };
  }
  const evidence: string[] = [];
  for (const [name, gate] of gated) {
    const latest = await ctx.store.metrics.latestOfStep(byName.get(name)?.id ?? -1);
    evidence.push(`${name}: ${boundsText(gate, new Map(latest.map((m) => [m.key, m.value])))}`);
  }
  return {
    gate: 'evaluation',
    state: 'pass',
    detail: `run ${runId} passed every gate of ${source}: ${evidence.join('; ')}`,
    file: rel,
  };
}

async function driftGate(ctx: GateContext, v: ModelVersion): Promise<GateResult> {
  const open = await ctx.store.monitor.openAlerts(v.name, v.version, 'drift');
  if (open.length === 0)
    return { gate: 'drift', state: 'pass', detail: `no open drift alert for ${v.name} version ${v.version}` };
  const a = open[0];
  return {
    gate: 'drift',
    state: 'fail',
    detail: `${open.length} open drift alert${open.length === 1 ? '' : 's'} for ${v.name} version ${v.version}: #${a?.id ?? ''} ${a?.message ?? ''} — retrain, or close it with \`cairn monitor close ${a?.id ?? ''} --reason TEXT\``,
  };
}

/** Checks every gate of a version (nothing moves). */
export async function checkGates(ctx: GateContext, name: string, ref: number | string): Promise<GateReport> {
  const registry = new ModelRegistry(ctx.store, ctx.objects, ctx.workspace);
  const v = await registry.find(`${name}@${ref}`);
  const card = await cardOf(ctx, v);
  const gates: GateResult[] = [
    cardGate(ctx, card),
    await cardMetricsGate(ctx, v, card),
    await evaluationGate(ctx, v),
    await driftGate(ctx, v),
  ];
  return { name: v.name, version: v.version, passed: gates.every((g) => g.state !== 'fail'), gates };
}

/**
 * Points `alias` at the version when every gate passes or is overridden. An override needs a reason; it is recorded in
 * gate_overrides (with the alias-history row of the move) and the reason goes into the alias history.
 */
export async function promote(
  ctx: GateContext,
  name: string,
  ref: number | string,
  alias: string,
  options: PromoteOptions,
): Promise<Promotion> {
  const override = new Set(options.override ?? []);
  for (const g of override)
    if (!(gateIds as readonly string[]).includes(g))
      throw new RegistryError(`unknown gate '${g}' (gates: ${gateIds.join(', ')})`, 'invalid');
  const reason = options.reason?.trim();
  if (override.size > 0 && (reason === undefined || reason === ''))
    throw new RegistryError(
      'overriding a gate needs a reason (--reason TEXT): it is recorded with the move',
      'invalid',
    );
  // Optimistic: the move expects the alias where it was before the gates were checked (a concurrent promotion wins).
  const before = (await ctx.store.registry.aliasVersion(name, alias)) ?? null;
  const report = await checkGates(ctx, name, ref);
  const at = Date.now();
  const gates: GateResult[] = report.gates.map((g) =>
    g.state === 'fail' && override.has(g.gate)
      ? { ...g, state: 'overridden', override: { reason: reason ?? '', actor: options.actor, at } }
      : g,
  );
  const checked: GateReport = { ...report, gates, passed: gates.every((g) => g.state !== 'fail') };
  if (!checked.passed) return { gates: checked };
  const overridden = gates.filter((g) => g.state === 'overridden');
  checkAlias(alias);
  const historyReason =
    overridden.length > 0
      ? `promoted past failing gate${overridden.length === 1 ? '' : 's'} ${overridden.map((g) => g.gate).join(', ')}: ${reason ?? ''}`
      : (reason ?? 'promoted: every gate passed');
  const move = await ctx.store.tx(async (s) => {
    const m = await moveAlias(s, {
      name: report.name,
      alias,
      version: report.version,
      action: 'set',
      undoes: null,
      actor: options.actor,
      reason: historyReason,
      expect: before,
    });
    for (const g of overridden) {
      await s.registry.recordGateOverride({
        name: report.name,
        version: report.version,
        alias,
        gate: g.gate,
        detail: g.detail,
        reason: reason ?? '',
        actor: options.actor,
        historyId: m.historyId,
        at,
      });
    }
    return publicMove(m);
  });
  return { gates: checked, move };
}

/** One line per gate, for the CLI and logs: `✓ card  MODEL_CARD.md: …`. */
export function formatGates(report: GateReport): string {
  const mark = { pass: '✓', fail: '✗', overridden: '!' } as const;
  const width = Math.max(...report.gates.map((g) => g.gate.length));
  const lines = report.gates.map(
    (g) =>
      `${mark[g.state]} ${g.gate.padEnd(width)}  ${g.state.padEnd(10)}  ${g.detail}${g.override ? ` [overridden by ${g.override.actor}: ${g.override.reason}]` : ''}`,
  );
  return `${report.name} version ${report.version}: ${report.passed ? 'gates pass' : 'gates fail'}\n${lines.join('\n')}\n`;
}
