import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { AbResult } from '@cairn/protocol';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { table } from './models.js';
import { AbError, onlineAb, replayAb } from '../../ab/analysis.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { DataError } from '../../ml/data/index.js';
import { RegistryError } from '../../registry/registry.js';
import { ServeLoadError } from '../../serve/index.js';
import { Store } from '../../store/store.js';
import { workspaceOf } from '../../util/workspace.js';

function printResult(io: CliIo, r: AbResult): void {
  io.stdout(`A/B ${r.id} of ${r.name}: version ${r.championVersion} (champion) vs ${r.challengerVersion} (challenger), ${r.source}${r.holdout ? ` on ${r.holdout}` : ''}${r.deploymentId === null ? '' : ` of deployment ${r.deploymentId}`}\n\n`);
  const keys = [...new Set(r.arms.flatMap((a) => Object.keys(a.metrics)))];
  const rows = [['ARM', 'VERSION', 'REQUESTS', 'LABELLED', ...keys.map((k) => k.toUpperCase())], ...r.arms.map((a) => [a.arm, String(a.version ?? ''), String(a.requests), String(a.labelled), ...keys.map((k) => (a.metrics[k] === undefined ? '' : (a.metrics[k] ?? 0).toFixed(4)))])];
  io.stdout(table(rows) + '\n');
  io.stdout(`${r.test.statement}\nwinner: ${r.test.winner}\n`);
}

function alphaOf(text: string | undefined): number {
  if (text === undefined) return 0.05;
  const a = Number(text);
  if (!(a > 0 && a < 1)) throw new UsageError(`--alpha ${text}: give a significance level between 0 and 1 (e.g. 0.05)`);
  return a;
}

export const abCommand: CliCommand = {
  name: 'ab',
  summary: 'A/B analysis of champion vs challenger: online per-arm metrics from feedback, or a replay on a holdout, with a significance test.',
  usage:
    'cairn ab report NAME [--deployment ID] [--alpha 0.05]\n' +
    '       cairn ab replay NAME --holdout FILE --label COLUMN [--champion VERSION|ALIAS] [--challenger VERSION|ALIAS] [--alpha 0.05]\n       (all: [--workspace DIR] [--format json])',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, { value: ['format', 'workspace', 'deployment', 'alpha', 'holdout', 'label', 'champion', 'challenger'] });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    if (sub !== 'report' && sub !== 'replay') throw new UsageError(sub === undefined ? 'give a sub-command: report or replay' : `unknown sub-command '${sub}' (report, replay)`);
    if (parsed.positionals.length !== 1) throw new UsageError(`ab ${sub} takes one model NAME`);
    const name = parsed.positionals[0] ?? '';
    const alpha = alphaOf(flag(parsed, 'alpha'));
    const db = path.join(workspace, '.cairn', 'cairn.db');
    if (!existsSync(db)) {
      io.stderr(`cairn ab: no store in ${workspace} (.cairn/cairn.db): nothing is registered there; pass --workspace\n`);
      return 1;
    }
    const store = new Store(db);
    const ctx = { store, objects: new ObjectStore(path.join(workspace, '.cairn')), workspace };
    try {
      let result: AbResult;
      if (sub === 'report') {
        for (const f of ['holdout', 'label', 'champion', 'challenger']) if (parsed.flags.has(f)) throw new UsageError(`--${f} goes with ab replay`);
        const dep = flag(parsed, 'deployment');
        const id = dep === undefined ? undefined : Number(dep);
        if (id !== undefined && !(Number.isInteger(id) && id > 0)) throw new UsageError(`--deployment ${dep}: give a deployment id (cairn deployments list)`);
        result = await onlineAb(ctx, name, { ...(id === undefined ? {} : { deploymentId: id }), alpha });
      } else {
        if (parsed.flags.has('deployment')) throw new UsageError('--deployment goes with ab report');
        const holdout = flag(parsed, 'holdout');
        const label = flag(parsed, 'label');
        if (holdout === undefined || label === undefined) throw new UsageError('ab replay needs --holdout FILE and --label COLUMN');
        const champion = flag(parsed, 'champion');
        const challenger = flag(parsed, 'challenger');
        result = await replayAb(ctx, name, { holdout: path.resolve(io.cwd, holdout), label, ...(champion === undefined ? {} : { champion }), ...(challenger === undefined ? {} : { challenger }), alpha });
      }
      if (format === 'json') io.stdout(JSON.stringify(result) + '\n');
      else printResult(io, result);
      return 0;
    } catch (error) {
      if (error instanceof AbError || error instanceof RegistryError || error instanceof ServeLoadError || error instanceof DataError) {
        if (format === 'json') io.stdout(JSON.stringify({ error: error.message }) + '\n');
        io.stderr(`cairn ab ${sub}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await store.close();
    }
  },
};
