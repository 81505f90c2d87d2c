import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { DeploymentArm, ServeSetting, ServeStarted } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { formatDiagnosticText } from '../../executor/loadPipeline.js';
import { pipelineServeSettings, type PipelineServeSettings } from '../../deploy/pipelineSettings.js';
import { PredictionLog } from '../../deploy/predictionLog.js';
import {
  AliasFollower,
  DEFAULT_BATCH,
  generateToken,
  MAX_ROWS,
  isRegistryRef,
  ModelServer,
  restoreVersion,
  ServeLoadError,
  type RegisteredModel,
  type ServeOptions,
} from '../../serve/index.js';
import { openStore, storeAbsent } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { storeSettingsOf } from '../store.js';
import { workspaceOf } from '../../util/workspace.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** An integer option within [min, max], or undefined when absent; anything else is a usage error naming the flag. */
export function intFlag(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${v}`);
  return n;
}

function fractionFlag(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`--${name} must be a number from 0 to 1, not ${v}`);
  return n;
}

/** Resolves when the process is asked to stop (Ctrl-C, or a supervisor's SIGTERM). */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals): void => {
      process.off('SIGINT', on).off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on).on('SIGTERM', on);
  });
}

/** A model as asked on the command line: a file, or a registry version restored from the workspace store. */
interface Arm {
  /** As given: a path or `NAME@ALIAS`. */
  ref: string;
  file: string;
  registered?: RegisteredModel;
  /** The alias this arm follows (`NAME@production`), if any. */
  follows?: { name: string; alias: string };
}

/** The workspace side of a served model: its deployments row, prediction log and alias followers. */
export interface Deployment {
  store: Store;
  workspace: string;
  champion: Arm;
  challenger?: Arm;
  /** null: `--no-log`. */
  log: { sample: number; maxRows: number } | null;
  followMs: number;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Starts the server, records the deployment, prints where it listens, serves until `stop` resolves, then closes gracefully. */
export async function serveUntil(
  opts: ServeOptions,
  format: 'json' | 'text',
  io: CliIo,
  stop: Promise<unknown>,
  deployment?: Deployment,
  origin?: ServeOrigin,
): Promise<number> {
  let server: ModelServer;
  try {
    server = await ModelServer.start(opts);
  } catch (e) {
    if (
      e instanceof ServeLoadError ||
      (e instanceof Error &&
        'code' in e &&
        (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL'))
    ) {
      if (format === 'json') io.stdout(JSON.stringify({ error: e.message }) + '\n');
      io.stderr(`cairn serve: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const log = opts.log ?? (() => undefined);
  let predictionLog: PredictionLog | null = null;
  const followers: AliasFollower[] = [];
  let deploymentId: number | null = null;
  if (deployment) {
    try {
      const { store, champion, challenger } = deployment;
      const c = opts.challenger;
      deploymentId = await store.deployments.start({
        name: champion.registered?.name ?? path.basename(champion.file).replace(/\.(onnx|json)$/i, ''),
        ref: champion.ref,
        version: champion.registered?.version ?? null,
        challenger:
          challenger && c
            ? { ref: challenger.ref, version: challenger.registered?.version ?? null, split: c.split, key: c.key }
            : null,
        url: server.url,
        pid: process.pid,
        logSample: deployment.log?.sample ?? 0,
      });
      // From here on the store is written from the serving loop: wait briefly for a lock, never for seconds.
      store.waitForLocks(20);
      if (deployment.log) predictionLog = new PredictionLog(store, deploymentId, { ...deployment.log, log });
      server.attachDeployment(deploymentId, predictionLog, 'started with --no-log');
      const id = deploymentId;
      for (const [arm, a] of [
        ['champion', champion],
        ['challenger', challenger],
      ] as Array<[DeploymentArm, Arm | undefined]>) {
        if (!a?.follows || !a.registered) continue;
        followers.push(
          new AliasFollower(store, deployment.workspace, server, a.follows.name, a.follows.alias, a.registered, {
            arm,
            intervalMs: deployment.followMs,
            log,
            onSwap: (version) => {
              void store.deployments
                .setVersion(id, arm, version)
                .catch((e: unknown) =>
                  log(`deployment ${id}: the ${arm}'s new version ${version} was not recorded: ${message(e)}`),
                );
            },
          }),
        );
      }
    } catch (e) {
      // The deployment could not be recorded (e.g. the store stayed locked): stop rather than serve unrecorded.
      await server.close(0);
      await predictionLog?.close();
      await Promise.all(followers.map((f) => f.stop()));
      throw e;
    }
  }
  const m = server.model;
  const ch = server.challenger;
  if (format === 'json') {
    const line: ServeStarted = {
      event: 'listening',
      url: server.url,
      token: opts.token,
      model: m,
      ...(ch ? { challenger: ch } : {}),
      deploymentId,
      ...(origin ? { pipeline: origin.json } : {}),
    };
    io.stdout(JSON.stringify(line) + '\n');
  } else {
    const name = (x: typeof m): string =>
      x.registered ? `${x.registered.name} version ${x.registered.version} (${x.path})` : x.path;
    io.stdout(
      [
        `Serving ${name(m)} (${m.task}${m.classes ? `, classes ${m.classes.join(', ')}` : ''}) at ${server.url}`,
        ...(ch
          ? [
              `  Challenger ${name(ch.model)} gets ${(ch.split * 100).toFixed(1)}% of keys (${ch.key ? `column ${ch.key}` : 'X-Cairn-Key header, else per request'})`,
            ]
          : []),
        ...(origin?.text ?? []),
        `  POST ${server.url}/invocations   POST ${server.url}/feedback   GET ${server.url}/health   GET ${server.url}/metrics`,
        deploymentId === null
          ? '  No workspace store: no deployment record, no prediction log (--workspace DIR adds them).'
          : `  Deployment ${deploymentId}; prediction log ${predictionLog ? `on (sample ${predictionLog.sample}, at most ${predictionLog.maxRows} rows)` : 'off (--no-log)'}.`,
        opts.token === null
          ? '  No token: anyone who can reach this address can call it (--no-token).'
          : `  Token: ${opts.token}   (send "Authorization: Bearer <token>")`,
        '  Ctrl-C stops.',
        '',
      ].join('\n'),
    );
  }
  await stop;
  await server.close();
  await Promise.all(followers.map((f) => f.stop()));
  if (deployment && deploymentId !== null) {
    await predictionLog?.close();
    await deployment.store.deployments.stop(deploymentId);
  }
  io.stderr('cairn serve: stopped\n');
  return 0;
}

/** `NAME@alias` (not a version number): an alias the server follows. */
function aliasOf(ref: string): { name: string; alias: string } | undefined {
  const at = ref.lastIndexOf('@');
  if (at < 0 || /^\d+$/.test(ref.slice(at + 1))) return undefined;
  return { name: ref.slice(0, at), alias: ref.slice(at + 1) };
}

/** The workspace's own pipeline (`cairn.yaml`, `cairn.yml`), if there is one. */
function workspacePipeline(workspace: string): string | undefined {
  return ['cairn.yaml', 'cairn.yml'].map((f) => path.join(workspace, f)).find((f) => existsSync(f));
}

/** What the output says about settings taken from a pipeline. */
export interface ServeOrigin {
  json: NonNullable<ServeStarted['pipeline']>;
  text: string[];
}

function originOf(
  p: PipelineServeSettings,
  used: Set<ServeSetting>,
  values: { host: string; port: number; model: string; challenger?: string; split?: number; key?: string | null },
  unusedAb: boolean,
): ServeOrigin {
  const parts: string[] = [];
  const serve = [used.has('host') ? `host ${values.host}` : '', used.has('port') ? `port ${values.port}` : ''].filter(
    Boolean,
  );
  if (serve.length) parts.push(`${serve.join(', ')} (deploy.serve)`);
  if (used.has('model') || used.has('challenger')) {
    const arms = [
      used.has('model') ? `champion ${values.model}` : '',
      used.has('challenger') ? `challenger ${values.challenger ?? ''}` : '',
    ].filter(Boolean);
    parts.push(`${arms.join(', ')} (deploy.ab.split's aliases of the model.register step's name)`);
  }
  const ab = [
    used.has('split') ? `split ${values.split ?? ''}` : '',
    used.has('key') ? `key ${values.key ?? ''}` : '',
  ].filter(Boolean);
  if (ab.length) parts.push(`${ab.join(', ')} (deploy.ab)`);
  const text: string[] = [];
  const named = p.found ? `${p.file} (found in the workspace; --pipeline FILE names another)` : p.file;
  if (parts.length) text.push(`  From ${named}: ${parts.join('; ')}. Flags override these.`);
  if (unusedAb) text.push(`  ${p.file}'s deploy.ab is not used: --model was given without --challenger.`);
  if (text.length === 0)
    text.push(`  ${named} set nothing here: its deploy: block has no serve: or ab: settings that no flag gave.`);
  return { json: { file: p.path, found: p.found, settings: [...used] }, text };
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary:
    'Serve a model over HTTP (MLflow-compatible /invocations, /feedback, /health, Prometheus /metrics), token-protected, with a prediction log and an optional A/B challenger.',
  usage:
    'cairn serve [--model PATH|NAME[@VERSION|@ALIAS]] [--pipeline FILE] [--workspace DIR] [--store URL|PATH] [--challenger REF --split F [--key COL]] [--follow-ms MS] [--log-sample F] [--log-max-rows N] [--no-log] [--host 127.0.0.1] [--port N|0] [--token T | --no-token] [--max-body BYTES] [--timeout MS] [--batch-window-ms MS] [--batch-max-rows N | --no-batch] [--format json]',
  run: (args, io) => runServe(args, io, stopSignal),
};

/** `cairn serve` with the stop signal injected (tests resolve their own promise instead of sending SIGTERM). */
export async function runServe(args: string[], io: CliIo, until: () => Promise<unknown>): Promise<number> {
  const parsed = parseArgs(args, {
    boolean: ['no-token', 'no-log', 'no-batch'],
    value: [
      'model',
      'pipeline',
      'host',
      'port',
      'token',
      'format',
      'max-body',
      'timeout',
      'workspace',
      'store',
      'challenger',
      'split',
      'key',
      'follow-ms',
      'log-sample',
      'log-max-rows',
      'batch-window-ms',
      'batch-max-rows',
    ],
  });
  const format = formatOf(parsed);
  if (parsed.positionals.length) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
  const modelFlag = flag(parsed, 'model');
  const hostFlag = flag(parsed, 'host');
  const noToken = parsed.flags.has('no-token');
  const given = flag(parsed, 'token');
  if (noToken && given !== undefined) throw new UsageError('give either --token or --no-token, not both');
  if (given !== undefined && given.length < 8) throw new UsageError('--token must be at least 8 characters');
  const portFlag = intFlag(flag(parsed, 'port'), 'port', 0, 65535);
  const maxBody = intFlag(flag(parsed, 'max-body'), 'max-body', 1024, 1024 ** 3);
  const timeout = intFlag(flag(parsed, 'timeout'), 'timeout', 1, 3_600_000);
  const noBatch = parsed.flags.has('no-batch');
  const batchWindow = intFlag(flag(parsed, 'batch-window-ms'), 'batch-window-ms', 0, 10_000);
  const batchRows = intFlag(flag(parsed, 'batch-max-rows'), 'batch-max-rows', 1, MAX_ROWS);
  if (noBatch && (batchWindow !== undefined || batchRows !== undefined))
    throw new UsageError('--no-batch turns batching off: drop --batch-window-ms / --batch-max-rows');
  const challengerFlag = flag(parsed, 'challenger');
  const splitFlag = fractionFlag(flag(parsed, 'split'), 'split');
  const keyFlag = flag(parsed, 'key');
  if (!challengerFlag && (splitFlag !== undefined || keyFlag !== undefined))
    throw new UsageError('--split and --key configure an A/B split: give --challenger REF too');
  if (keyFlag !== undefined && keyFlag.length === 0) throw new UsageError('--key must name a request column');
  const followMs = intFlag(flag(parsed, 'follow-ms'), 'follow-ms', 50, 3_600_000) ?? 1000;
  const noLog = parsed.flags.has('no-log');
  const sample = fractionFlag(flag(parsed, 'log-sample'), 'log-sample');
  const maxRows = intFlag(flag(parsed, 'log-max-rows'), 'log-max-rows', 1, 1_000_000_000);
  if (noLog && (sample !== undefined || maxRows !== undefined))
    throw new UsageError('--no-log turns the prediction log off: drop --log-sample / --log-max-rows');

  const workspace = workspaceOf(parsed, io.cwd);
  const refuse = (text: string): number => {
    if (format === 'json') io.stdout(JSON.stringify({ error: text }) + '\n');
    io.stderr(`cairn serve: ${text}\n`);
    return 1;
  };

  // Precedence: flag > the pipeline's deploy: block > built-in default. The workspace's cairn.yaml is read only when
  // neither --model nor --pipeline is given: a file the command line does not name must not move a server's port or
  // block serving a model file; without --model there is nothing else to serve anyway.
  const pipelineFlag = flag(parsed, 'pipeline');
  const found = pipelineFlag === undefined && modelFlag === undefined ? workspacePipeline(workspace) : undefined;
  let fromPipeline: PipelineServeSettings | undefined;
  /** Why the workspace's cairn.yaml gave nothing (it has no deploy: block), for the --model usage error. */
  let foundNothing = '';
  if (pipelineFlag !== undefined || found !== undefined) {
    const file = pipelineFlag ?? (path.relative(io.cwd, found ?? '') || (found ?? ''));
    const result = pipelineServeSettings(file, { cwd: io.cwd, workspace, found: found !== undefined });
    if (result.ok) fromPipeline = result.settings;
    else if (result.code === 2 && found === undefined) throw new UsageError(result.text);
    else if (result.code === 2) foundNothing = `; ${result.text}`;
    else {
      if (format === 'json') io.stdout(JSON.stringify({ error: result.text, diagnostics: result.diagnostics }) + '\n');
      else for (const d of result.diagnostics) io.stderr(formatDiagnosticText(d) + '\n');
      io.stderr(
        `cairn serve: ${file} cannot give the serving settings${found !== undefined ? ' (found in the workspace; --model or --pipeline FILE serve without it)' : ''}; nothing was served${result.checkedByValidate ? ` (\`cairn validate ${file}\` checks it again)` : ''}\n`,
      );
      return 1;
    }
  }
  const used = new Set<ServeSetting>();
  const take = <T>(setting: ServeSetting, flagValue: T | undefined, pipelineValue: T | undefined): T | undefined => {
    if (flagValue !== undefined) return flagValue;
    if (pipelineValue !== undefined) used.add(setting);
    return pipelineValue;
  };
  const ab = fromPipeline?.ab;
  const name = fromPipeline && 'value' in fromPipeline.name ? fromPipeline.name.value : undefined;
  // The pipeline's A/B arms are NAME@<champion alias> / NAME@<challenger alias>, only when --model is absent.
  const model = take('model', modelFlag, ab && name !== undefined ? `${name}@${ab.champion}` : undefined);
  if (!model) {
    const why = !fromPipeline
      ? foundNothing
      : !ab
        ? `; ${fromPipeline.file}'s deploy: block has no ab: split naming the arms`
        : `; the arms of ${fromPipeline.file}'s deploy.ab are NAME@${ab.champion} / NAME@${ab.challenger}, but ${'why' in fromPipeline.name ? fromPipeline.name.why : 'its model has no name'}`;
    throw new UsageError(`--model is required: a model.json or .onnx file, or a registered NAME[@ALIAS]${why}`);
  }
  const challengerRef = take(
    'challenger',
    challengerFlag,
    ab && name !== undefined && modelFlag === undefined ? `${name}@${ab.challenger}` : undefined,
  );
  const split = challengerRef ? take('split', splitFlag, ab?.split) : undefined;
  const key = challengerRef ? take('key', keyFlag, ab?.key) : undefined;
  const host = take('host', hostFlag, fromPipeline?.host) ?? '127.0.0.1';
  const port = take('port', portFlag, fromPipeline?.port) ?? 8080;
  // Without a token, anyone on the network could call the model: allowed on loopback only.
  if (noToken && !LOOPBACK.has(host))
    throw new UsageError(
      `--no-token is allowed only on a loopback host (127.0.0.1, ::1), not ${host}${used.has('host') ? ` (deploy.serve.host of ${fromPipeline?.file ?? ''})` : ''}`,
    );
  const origin = fromPipeline
    ? originOf(
        fromPipeline,
        used,
        {
          host,
          port,
          model,
          ...(challengerRef ? { challenger: challengerRef } : {}),
          ...(split !== undefined ? { split } : {}),
          key: key ?? null,
        },
        ab !== undefined && !challengerRef,
      )
    : undefined;

  const isFile = (ref: string): boolean => existsSync(path.resolve(io.cwd, ref)) || !isRegistryRef(ref);
  const refs = [model, ...(challengerRef ? [challengerRef] : [])];
  const needsStore = parsed.flags.has('workspace') || parsed.flags.has('store') || refs.some((r) => !isFile(r));
  const settings = storeSettingsOf(parsed, workspace);
  const optionOf = (setting: 'model' | 'challenger'): string =>
    used.has(setting) ? `${fromPipeline?.file ?? ''}'s deploy.ab arm` : `--${setting}`;
  if (needsStore && !parsed.flags.has('workspace') && storeAbsent(settings)) {
    const ref = refs.find((r) => !isFile(r)) ?? model;
    return refuse(
      `${ref === model ? optionOf('model') : optionOf('challenger')} ${ref}: no file of that name, and ${workspace} has no model registry (.cairn/cairn.db); give a model file path, or --workspace`,
    );
  }
  // The workspace's store as every command opens it (--store > CAIRN_STORE_URL > .cairn/config.yaml > .cairn/cairn.db).
  const store = needsStore ? await openStore(settings) : undefined;
  const restored: RegisteredModel[] = [];
  const resolveArm = async (ref: string, option: string): Promise<Arm> => {
    if (isFile(ref) || !store) return { ref, file: path.resolve(io.cwd, ref) };
    const registered = await restoreVersion(store, workspace, ref, option);
    restored.push(registered);
    const follows = aliasOf(ref);
    return { ref, file: registered.file, registered, ...(follows ? { follows } : {}) };
  };
  try {
    let champion: Arm;
    let challenger: Arm | undefined;
    try {
      champion = await resolveArm(model, optionOf('model'));
      challenger = challengerRef ? await resolveArm(challengerRef, optionOf('challenger')) : undefined;
    } catch (e) {
      if (!(e instanceof ServeLoadError)) throw e;
      return refuse(e.message);
    }
    const opts: ServeOptions = {
      model: champion.file,
      ...(champion.registered
        ? { registered: { name: champion.registered.name, version: champion.registered.version } }
        : {}),
      ...(challenger
        ? {
            challenger: {
              model: challenger.file,
              ...(challenger.registered
                ? { registered: { name: challenger.registered.name, version: challenger.registered.version } }
                : {}),
              split: split ?? 0.5,
              key: key ?? null,
            },
          }
        : {}),
      host,
      port,
      token: noToken ? null : (given ?? generateToken()),
      ...(maxBody !== undefined ? { maxBodyBytes: maxBody } : {}),
      ...(timeout !== undefined ? { predictTimeoutMs: timeout } : {}),
      batch: noBatch
        ? null
        : { windowMs: batchWindow ?? DEFAULT_BATCH.windowMs, maxRows: batchRows ?? DEFAULT_BATCH.maxRows },
      log: (line) => io.stderr(`cairn serve: ${new Date().toISOString()} ${line}\n`),
    };
    const deployment: Deployment | undefined = store
      ? {
          store,
          workspace,
          champion,
          ...(challenger ? { challenger } : {}),
          log: noLog ? null : { sample: sample ?? 1, maxRows: maxRows ?? 100_000 },
          followMs,
        }
      : undefined;
    // Followers remove the copies they swapped in; the first ones are removed here either way (removal is idempotent).
    return await serveUntil(opts, format, io, until(), deployment, origin);
  } finally {
    await Promise.all(restored.map((r) => r.remove()));
    await store?.close();
  }
}
