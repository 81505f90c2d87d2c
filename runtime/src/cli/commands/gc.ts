import { storeOf } from '../store.js';
import * as path from 'node:path';
import { formatOf, parseArgs, UsageError, type CliCommand } from '../command.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { collectGarbage } from '../../cas/gc.js';
import { workspaceOf } from '../../util/workspace.js';

export const gcCommand: CliCommand = {
  name: 'gc',
  summary: 'Remove artifact-store objects no run refers to, and temp files of crashed runs.',
  usage: 'cairn gc [--dry-run] [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, { boolean: ['dry-run'], value: ['format', 'workspace', 'store'] });
    const format = formatOf(parsed);
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
    const workspace = workspaceOf(parsed, io.cwd);
    const cairnDir = path.join(workspace, '.cairn');
    const store = await storeOf(parsed, workspace);
    try {
      const dryRun = parsed.flags.has('dry-run');
      const result = await collectGarbage(store, new ObjectStore(cairnDir), dryRun);
      if (format === 'json')
        io.stdout(
          JSON.stringify({ dryRun, removed: result.removed.length, bytes: result.bytes, tempFiles: result.tempFiles }) +
            '\n',
        );
      else
        io.stdout(
          `${dryRun ? 'would remove' : 'removed'} ${result.removed.length} objects (${(result.bytes / 1024).toFixed(1)} KiB) and ${result.tempFiles} temp files\n`,
        );
      return 0;
    } finally {
      await store.close();
    }
  },
};
