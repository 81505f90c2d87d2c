import { storeOf, storeSettingsOf } from '../store.js';
import { storeAbsent } from '../../store/open.js';
import type { Deployment } from '@cairn/protocol';
import { formatOf, parseArgs, UsageError, type CliCommand, type CliIo } from '../command.js';
import { table, when } from './models.js';
import { DeploymentError, listDeployments, stopDeployment } from '../../deploy/status.js';
import { workspaceOf } from '../../util/workspace.js';

function printList(io: CliIo, list: Deployment[]): void {
  if (list.length === 0) {
    io.stdout('no deployments; `cairn serve --model NAME@ALIAS` starts one\n');
    return;
  }
  const rows = [
    ['ID', 'MODEL', 'VERSION', 'CHALLENGER', 'STATUS', 'URL', 'PID', 'LOGGED', 'LABELLED', 'STARTED', 'STOPPED'],
    ...list.map((d) => [
      String(d.id),
      d.ref,
      String(d.version ?? ''),
      d.challenger ? `${d.challenger.ref} (${Math.round(d.challenger.split * 100)}%)` : '',
      d.status,
      d.url,
      String(d.pid),
      String(d.logged),
      String(d.labelled),
      when(d.startedAt),
      d.stoppedAt === null ? '' : when(d.stoppedAt),
    ]),
  ];
  io.stdout(table(rows));
}

export const deploymentsCommand: CliCommand = {
  name: 'deployments',
  summary: 'Deployments (cairn serve processes) with their logged and labelled predictions; stop one.',
  usage:
    'cairn deployments list [NAME] [--serving]\n       cairn deployments stop ID\n       (all: [--workspace DIR] [--store URL|PATH] [--format json])',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, { boolean: ['serving'], value: ['format', 'workspace', 'store'] });
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    if (sub !== 'list' && sub !== 'stop')
      throw new UsageError(
        sub === undefined ? 'give a sub-command: list or stop' : `unknown sub-command '${sub}' (list, stop)`,
      );
    const p = parsed.positionals;
    if (sub === 'list' && p.length > 1)
      throw new UsageError(`deployments list takes at most a model NAME; unexpected '${p[1]}'`);
    if (sub === 'stop' && (p.length !== 1 || !/^\d+$/.test(p[0] ?? '')))
      throw new UsageError('deployments stop takes one deployment ID (see `cairn deployments list`)');
    if (storeAbsent(storeSettingsOf(parsed, workspace))) {
      if (sub === 'list') {
        if (format === 'json') io.stdout(JSON.stringify({ deployments: [] }) + '\n');
        else printList(io, []);
        return 0;
      }
      io.stderr(`cairn deployments stop: no store in ${workspace} (.cairn/cairn.db); pass --workspace\n`);
      return 1;
    }
    const store = await storeOf(parsed, workspace);
    try {
      if (sub === 'list') {
        const deployments = await listDeployments(store, {
          ...(p[0] === undefined ? {} : { name: p[0] }),
          serving: parsed.flags.has('serving'),
        });
        if (format === 'json') io.stdout(JSON.stringify({ deployments }) + '\n');
        else printList(io, deployments);
        return 0;
      }
      const d = await stopDeployment(store, Number(p[0]));
      if (format === 'json') io.stdout(JSON.stringify(d) + '\n');
      else io.stdout(`deployment ${d.id} (${d.ref}): ${d.status}\n`);
      return 0;
    } catch (error) {
      if (error instanceof DeploymentError) {
        if (format === 'json') io.stdout(JSON.stringify({ error: error.message }) + '\n');
        io.stderr(`cairn deployments ${sub}: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await store.close();
    }
  },
};
