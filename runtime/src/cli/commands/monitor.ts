import { storeSettingsOf } from '../store.js';
import { storeAbsent } from '../../store/open.js';
import * as path from 'node:path';
import type { Alert, MonitorRun } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { when } from './models.js';
import { parseOverrides } from './run.js';
import { Engine } from '../../executor/engine.js';
import type { RunHandle } from '../../executor/executor.js';
import { DataError } from '../../ml/data/index.js';
import { DriftInputError } from '../../ml/drift/index.js';
import { AlertError, closeAlert } from '../../monitor/alerts.js';
import { MonitorError, runMonitor, type MonitorOptions } from '../../monitor/monitor.js';
import { startRetrain } from '../../monitor/retrain.js';
import { RegistryError } from '../../registry/registry.js';
import { workspaceOf } from '../../util/workspace.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `2d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  const n = m ? Number(m[1]) * (UNITS[m[2] ?? ''] ?? 0) : Number.NaN;
  if (!(n > 0)) throw new UsageError(`--window ${text}: write a length such as 90s, 15m, 1h or 2d`);
  return n;
}

function printAlerts(io: CliIo, alerts: Alert[]): void {
  if (alerts.length === 0) {
    io.stdout('no open alert\n');
    return;
  }
  for (const a of alerts) {
    io.stdout(
      `#${a.id}  ${a.name}${a.version === null ? '' : ` version ${a.version}`}  ${a.kind}  opened ${when(a.openedAt)}${a.closedAt === null ? '' : `  closed ${when(a.closedAt)} (${a.closedReason ?? ''})`}${a.retrainRunId === null ? '' : `  retrain run ${a.retrainRunId}`}\n    ${a.message}\n`,
    );
  }
}

function printRun(io: CliIo, r: MonitorRun): void {
  const rep = r.report.report;
  io.stdout(
    `${rep.title}\nreport ${r.report.id}: ${rep.referenceRows} reference rows, ${rep.currentRows} logged rows; overall ${Math.round(rep.shareDrifted * 100)}% of columns drifted\n\n`,
  );
  io.stdout('WINDOW                                     ROWS  DRIFTED  COLUMNS\n');
  for (const w of rep.windows) {
    const names = w.features.filter((f) => f.drifted).map((f) => f.name);
    io.stdout(
      `${when(w.start)} → ${when(w.end)}  ${String(w.rows).padStart(6)}  ${`${Math.round(w.share * 100)}%`.padStart(7)}  ${names.join(', ')}\n`,
    );
  }
  io.stdout(`\nlatest window: ${r.drifted ? 'DRIFTED' : 'no drift'}\n`);
  if (r.alert) io.stdout(`alert #${r.alert.id} ${r.alertOpened ? 'opened' : 'is open'}: ${r.alert.message}\n`);
  if (r.retrain) io.stdout(`retrain run ${r.retrain.runId}: ${r.retrain.status}\n`);
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} ${v}: give a whole number, 1 or more`);
  return n;
}

export const monitorCommand: CliCommand = {
  name: 'monitor',
  summary:
    "Drift of a served model's logged traffic vs its training data, over windows; alerts and the retrain trigger.",
  usage:
    'cairn monitor NAME [--deployment ID] [--reference FILE] [--window-rows N | --window 1h] [--columns a,b] [--share 0.5] [--retrain PIPELINE [-p K=V]…]\n' +
    '       cairn monitor alerts [NAME] [--all]\n       cairn monitor close ID --reason TEXT\n       (all: [--workspace DIR] [--format json])',
  async run(args, io) {
    const parsed = parseArgs(args, {
      boolean: ['all'],
      value: [
        'format',
        'workspace',
        'store',
        'deployment',
        'reference',
        'window-rows',
        'window',
        'columns',
        'share',
        'retrain',
        'p',
        'param',
        'reason',
      ],
    });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    const [first, ...rest] = parsed.positionals;
    if (first === undefined) throw new UsageError('give the model NAME to monitor (or: alerts, close ID)');
    const settings = storeSettingsOf(parsed, workspace);
    if (storeAbsent(settings)) {
      io.stderr(
        `cairn monitor: no store in ${workspace} (.cairn/cairn.db): nothing is registered or served there; pass --workspace\n`,
      );
      return 1;
    }
    const out = (value: unknown, text: () => void) =>
      format === 'json' ? io.stdout(JSON.stringify(value) + '\n') : text();
    const engine = await Engine.open(settings);
    try {
      if (first === 'alerts') {
        if (rest.length > 1) throw new UsageError(`monitor alerts takes at most a NAME; unexpected '${rest[1]}'`);
        const alerts = await engine.store.monitor.alerts({
          ...(rest[0] === undefined ? {} : { name: rest[0] }),
          all: parsed.flags.has('all'),
        });
        out({ alerts }, () => printAlerts(io, alerts));
        return 0;
      }
      if (first === 'close') {
        const id = positiveInt(rest[0], 'id');
        if (id === undefined || rest.length !== 1)
          throw new UsageError('monitor close takes one alert ID (see `cairn monitor alerts`)');
        const reason = flag(parsed, 'reason');
        if (reason === undefined || reason.trim() === '')
          throw new UsageError('monitor close needs --reason TEXT (recorded with the alert)');
        const alert = await closeAlert(engine.store, id, reason);
        out(alert, () => io.stdout(`alert #${alert.id} closed: ${reason}\n`));
        return 0;
      }
      if (rest.length > 0) throw new UsageError(`monitor takes one model NAME; unexpected '${rest[0]}'`);
      const windowRows = positiveInt(flag(parsed, 'window-rows'), 'window-rows');
      const windowText = flag(parsed, 'window');
      if (windowRows !== undefined && windowText !== undefined)
        throw new UsageError('give --window-rows or --window, not both');
      const shareText = flag(parsed, 'share');
      const share = shareText === undefined ? undefined : Number(shareText);
      if (share !== undefined && !(share > 0 && share <= 1)) throw new UsageError('--share must be a number in (0, 1]');
      const deployment = positiveInt(flag(parsed, 'deployment'), 'deployment');
      const reference = flag(parsed, 'reference');
      const columns = flag(parsed, 'columns')
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      const retrain = flag(parsed, 'retrain');
      const overrides = parseOverrides([...(parsed.flags.get('p') ?? []), ...(parsed.flags.get('param') ?? [])]);
      if (retrain === undefined && Object.keys(overrides).length > 0)
        throw new UsageError('-p goes with --retrain PIPELINE');
      let handle: RunHandle | undefined;
      const options: MonitorOptions = {
        name: first,
        ...(deployment === undefined ? {} : { deploymentId: deployment }),
        ...(reference === undefined ? {} : { reference: path.resolve(io.cwd, reference) }),
        ...(windowRows === undefined ? {} : { windowRows }),
        ...(windowText === undefined ? {} : { windowMs: parseDuration(windowText) }),
        ...(columns === undefined ? {} : { columns }),
        ...(share === undefined ? {} : { share }),
        ...(retrain === undefined
          ? {
              // No --retrain: the registering pipeline's `deploy.monitor.on_drift: retrain` may still ask for one.
              retrainPipeline: async (file: string) => {
                handle = await startRetrain(engine, file, {}, io.cwd);
                if (format === 'text')
                  io.stderr(
                    `drift alert: started retrain run ${handle.runId} of ${path.relative(io.cwd, file)} (its deploy.monitor says on_drift: retrain)\n`,
                  );
                return handle.runId;
              },
            }
          : {
              retrain: async () => {
                handle = await startRetrain(engine, retrain, overrides, io.cwd);
                if (format === 'text') io.stderr(`drift alert: started retrain run ${handle.runId} of ${retrain}\n`);
                return handle.runId;
              },
            }),
      };
      const outcome = await runMonitor({ store: engine.store, objects: engine.objects, workspace }, options);
      // The CLI waits for the retrain run: the process (and its engine) must outlive it.
      const done = handle === undefined ? null : await handle.done;
      const result: MonitorRun = {
        report: outcome.report,
        drifted: outcome.drifted,
        alert: outcome.alert,
        alertOpened: outcome.alertOpened,
        retrain: handle === undefined || done === null ? null : { runId: handle.runId, status: done.status },
      };
      out(result, () => printRun(io, result));
      return outcome.drifted ? 1 : 0;
    } catch (error) {
      if (
        error instanceof MonitorError ||
        error instanceof AlertError ||
        error instanceof RegistryError ||
        error instanceof DataError ||
        error instanceof DriftInputError
      ) {
        if (format === 'json') io.stdout(JSON.stringify({ error: error.message }) + '\n');
        io.stderr(`cairn monitor: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await engine.close();
    }
  },
};
