import { storeOf } from '../store.js';
import { formatOf, parseArgs, UsageError, type CliCommand } from '../command.js';
import { lineage, LineageTargetError } from '../../lineage/lineage.js';
import { workspaceOf } from '../../util/workspace.js';

export const lineageCommand: CliCommand = {
  name: 'lineage',
  summary: 'The lineage graph of a run, an artifact (hash or path) or a model, with stale nodes marked.',
  usage:
    'cairn lineage <run-id | artifact:HASH[:PATH] | PATH | model:NAME[@VERSION]> [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, { value: ['format', 'workspace', 'store'] });
    // The graph is data: JSON unless text is asked for explicitly.
    const format = parsed.flags.has('format') ? formatOf(parsed) : 'json';
    if (parsed.positionals.length !== 1) throw new UsageError('give one run id, artifact or model');
    const workspace = workspaceOf(parsed, io.cwd);
    const store = await storeOf(parsed, workspace, { mustExist: true });
    try {
      const graph = await lineage(store, workspace, parsed.positionals[0] ?? '');
      if (format === 'json') io.stdout(JSON.stringify(graph) + '\n');
      else {
        const label = new Map(
          graph.nodes.map((n) => [
            n.id,
            `${n.kind} ${n.label}${n.stale ? ' [stale]' : ''}${n.outside !== undefined ? ` [outside, read-only: ${n.outside}]` : ''}`,
          ]),
        );
        for (const e of graph.edges) io.stdout(`${label.get(e.from) ?? e.from}  →  ${label.get(e.to) ?? e.to}\n`);
        for (const n of graph.nodes.filter((x) => x.stale)) io.stdout(`stale: ${n.label}: ${n.staleReason ?? ''}\n`);
      }
      return 0;
    } catch (error) {
      if (error instanceof LineageTargetError) {
        io.stderr(`cairn lineage: ${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await store.close();
    }
  },
};
