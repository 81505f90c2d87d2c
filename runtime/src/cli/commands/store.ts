import { formatOf, parseArgs, UsageError, type CliCommand } from '../command.js';
import { describeLocation, openStore, storeAbsent, storeLocation } from '../../store/open.js';
import { allMigrations } from '../../store/migrations.js';
import { workspaceOf } from '../../util/workspace.js';
import { storeSettingsOf } from '../store.js';

export const storeCommand: CliCommand = {
  name: 'store',
  summary: 'Which tracking store this workspace uses (SQLite or PostgreSQL), its schema version and row counts.',
  usage: 'cairn store info [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, { value: ['format', 'workspace', 'store'] });
    if (sub !== 'info') throw new UsageError(sub === undefined ? 'give a sub-command: info' : `unknown sub-command '${sub}' (info)`);
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    const settings = storeSettingsOf(parsed, workspace);
    const location = storeLocation(workspace, settings.store);
    const base = {
      kind: location.kind,
      location: describeLocation(location),
      source: settings.store.source,
      from: settings.store.from,
      supportedSchema: allMigrations().at(-1)?.version ?? 0,
    };
    let info: typeof base & { exists: boolean; schema?: number; rows?: Record<string, number> } = { ...base, exists: false };
    if (!storeAbsent(settings)) {
      const store = await openStore(settings);
      try {
        info = { ...base, exists: true, schema: await store.schemaVersion(), rows: await store.tableCounts() };
      } finally {
        await store.close();
      }
    }
    if (format === 'json') io.stdout(JSON.stringify(info) + '\n');
    else {
      io.stdout(`store:   ${info.kind} ${info.location}\n`);
      io.stdout(`setting: ${info.source === 'default' ? 'default (.cairn/cairn.db)' : `${info.source} (${info.from})`}\n`);
      if (!info.exists) io.stdout('not created yet: the first run creates it\n');
      else {
        io.stdout(`schema:  ${info.schema ?? 0} (this Cairn: ${info.supportedSchema})\n`);
        for (const [table, n] of Object.entries(info.rows ?? {})) io.stdout(`  ${table.padEnd(22)} ${n}\n`);
      }
    }
    return 0;
  },
};
