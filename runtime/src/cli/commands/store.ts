import { describeLocation, openStore, storeAbsent, storeLocation } from '../../store/open.js';
import { allMigrations } from '../../store/migrations.js';
import { copyStore } from '../../store/copy.js';
import type { WorkspaceSettings } from '../../config/workspace.js';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo, type ParsedArgs } from '../command.js';
import { workspaceOf } from '../../util/workspace.js';
import { storeSettingsOf } from '../store.js';

export const storeCommand: CliCommand = {
  name: 'store',
  summary: 'Which tracking store this workspace uses (SQLite or PostgreSQL), its schema version and row counts.',
  usage:
    'cairn store info [--workspace DIR] [--store URL|PATH] [--format json]\n' +
    '       cairn store migrate --to postgres://USER@HOST:PORT/DB [--workspace DIR] [--store PATH] [--format json]',
  async run(args, io) {
    const [sub, ...rest] = args;
    const parsed = parseArgs(rest, { value: ['format', 'workspace', 'store', 'to'] });
    if (sub !== 'info' && sub !== 'migrate') {
      throw new UsageError(
        sub === undefined ? 'give a sub-command: info or migrate' : `unknown sub-command '${sub}' (info, migrate)`,
      );
    }
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
    const format = formatOf(parsed);
    const workspace = workspaceOf(parsed, io.cwd);
    const settings = storeSettingsOf(parsed, workspace);
    if (sub === 'migrate') return migrate(parsed, settings, format, io);
    const location = storeLocation(workspace, settings.store);
    const base = {
      kind: location.kind,
      location: describeLocation(location),
      source: settings.store.source,
      from: settings.store.from,
      supportedSchema: allMigrations().at(-1)?.version ?? 0,
    };
    let info: typeof base & { exists: boolean; schema?: number; rows?: Record<string, number> } = {
      ...base,
      exists: false,
    };
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
      io.stdout(
        `setting: ${info.source === 'default' ? 'default (.cairn/cairn.db)' : `${info.source} (${info.from})`}\n`,
      );
      if (!info.exists) io.stdout('not created yet: the first run creates it\n');
      else {
        io.stdout(`schema:  ${info.schema ?? 0} (this Cairn: ${info.supportedSchema})\n`);
        for (const [table, n] of Object.entries(info.rows ?? {})) io.stdout(`  ${table.padEnd(22)} ${n}\n`);
      }
    }
    return 0;
  },
};

/** Copies this workspace's SQLite store into PostgreSQL: one transaction, verified per table, safe to repeat. */
async function migrate(
  parsed: ParsedArgs,
  settings: WorkspaceSettings,
  format: 'json' | 'text',
  io: CliIo,
): Promise<number> {
  const to = flag(parsed, 'to');
  if (to === undefined) throw new UsageError('store migrate needs --to postgres://USER@HOST:PORT/DB');
  const target = storeLocation(settings.workspace, { value: to, source: 'flag', from: '--to' });
  if (target.kind !== 'postgres') throw new UsageError(`--to ${describeLocation(target)}: give a postgres:// URL`);
  const source = storeLocation(settings.workspace, settings.store);
  if (source.kind !== 'sqlite')
    throw new UsageError(
      `the source store is ${describeLocation(source)}: store migrate copies a SQLite store (--store PATH)`,
    );
  if (storeAbsent(settings)) throw new UsageError(`no store at ${source.file}: nothing to migrate`);
  const from = await openStore(settings);
  try {
    const into = await openStore({ workspace: settings.workspace, store: { value: to, source: 'flag', from: '--to' } });
    try {
      const report = await copyStore(from, into);
      if (format === 'json')
        io.stdout(JSON.stringify({ from: source.file, to: describeLocation(target), tables: report }) + '\n');
      else {
        io.stdout(`copied ${source.file} → ${describeLocation(target)} (row counts and checksums verified)\n`);
        for (const t of report)
          io.stdout(
            `  ${t.table.padEnd(22)} ${String(t.rows).padStart(8)} rows  ${String(t.written).padStart(8)} new  ${t.checksum}\n`,
          );
      }
      return 0;
    } finally {
      await into.close();
    }
  } finally {
    await from.close();
  }
}
