import * as path from 'node:path';
import { flag, formatOf, parseArgs, UsageError, type CliCommand, type CliIo, type ParsedArgs } from '../command.js';
import { ObjectStore } from '../../cas/objectStore.js';
import { entryOf, type EntrySource } from '../../cas/remote/stepCache.js';
import {
  emptyCounts,
  formatCounts,
  pullEntry,
  pushEntry,
  remoteFor,
  type RemoteSetting,
  type TransferCounts,
} from '../../cas/remote/sync.js';
import type { Store } from '../../store/store.js';
import { storeOf } from '../store.js';
import { CairnError } from '../../util/errors.js';
import { workspaceOf } from '../../util/workspace.js';

/** `cairn push` / `cairn pull`: cache entries (and their objects) between `.cairn/` and the shared remote. */

interface Selection {
  run: number | undefined;
}

function selection(parsed: ParsedArgs): Selection {
  const run = flag(parsed, 'run');
  if (run !== undefined && parsed.flags.has('all')) throw new UsageError('give --run N or --all, not both');
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0]}`);
  if (run === undefined) return { run: undefined };
  const n = Number(run);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--run ${run}: give a run number (cairn runs list shows them)`);
  return { run: n };
}

/** Cache keys with the step that produced them: of one run, or of every run in the store. */
async function cacheKeys(store: Store, sel: Selection): Promise<Array<Omit<EntrySource, 'stepRunId'>>> {
  const ids = sel.run !== undefined ? [sel.run] : (await store.runs.list({ limit: 100_000 })).runs.map((r) => r.id);
  const out = new Map<string, Omit<EntrySource, 'stepRunId'>>();
  for (const id of ids) {
    const detail = await store.runs.detail(id);
    if (!detail)
      throw new CairnError(
        'not-found',
        `run ${id} does not exist in this workspace's store; cairn runs list shows the runs`,
      );
    for (const s of detail.steps) {
      if (s.cacheKey === null || s.status !== 'succeeded' || out.has(s.cacheKey)) continue;
      out.set(s.cacheKey, {
        key: s.cacheKey,
        pipeline: detail.pipeline,
        step: s.step,
        user: detail.user ?? '',
        host: detail.host ?? '',
      });
    }
  }
  return [...out.values()];
}

async function withRemote(
  parsed: ParsedArgs,
  io: CliIo,
  body: (ctx: { store: Store; objects: ObjectStore; setting: RemoteSetting }) => Promise<TransferCounts>,
): Promise<number> {
  const format = formatOf(parsed);
  const workspace = workspaceOf(parsed, io.cwd);
  const setting = remoteFor(workspace, flag(parsed, 'remote'));
  if (!setting) {
    throw new CairnError(
      'invalid',
      'no remote configured: give --remote DIR, set CAIRN_REMOTE, or remote.url in .cairn/config.yaml (docs/team.md)',
    );
  }
  const cairnDir = path.join(workspace, '.cairn');
  const store = await storeOf(parsed, workspace);
  try {
    const started = performance.now();
    const counts = await body({ store, objects: new ObjectStore(cairnDir), setting });
    const seconds = (performance.now() - started) / 1000;
    if (format === 'json') io.stdout(JSON.stringify({ remote: setting.remote.url, ...counts, seconds }) + '\n');
    else io.stdout(`${formatCounts(counts)} — ${setting.remote.url}, ${seconds.toFixed(1)} s\n`);
    return 0;
  } finally {
    await store.close();
  }
}

const spec = { boolean: ['all'], value: ['run', 'remote', 'workspace', 'store', 'format'] };

export const pushCommand: CliCommand = {
  name: 'push',
  summary: 'Copy cache entries and their artifacts to the shared remote (resumable, idempotent).',
  usage: 'cairn push [--run N | --all] [--remote URL] [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, spec);
    const sel = selection(parsed);
    return withRemote(parsed, io, async ({ store, objects, setting }) => {
      const counts = emptyCounts();
      // Leftovers of an interrupted push (this host's dead writers) go first.
      await setting.remote.cleanTemps();
      const keys = await cacheKeys(store, sel);
      let i = 0;
      for (const k of keys) {
        i++;
        const local = await store.artifacts.cacheEntry(k.key);
        if (!local) continue;
        // The entry names who ran the step that produced it (the first run listed with that key), not who pushes.
        const entry = await entryOf(store, objects, { ...k, stepRunId: local.stepRunId }, local.outputs);
        await pushEntry(setting.remote, objects, entry, counts);
        if (io.isTty) io.stderr(`\rpushing ${i}/${keys.length} ${k.step}          `);
      }
      if (io.isTty && keys.length > 0) io.stderr('\n');
      return counts;
    });
  },
};

export const pullCommand: CliCommand = {
  name: 'pull',
  summary: 'Fetch cache entries and their artifacts from the shared remote into .cairn/ (hash-verified).',
  usage: 'cairn pull [--run N | --all] [--remote URL] [--workspace DIR] [--store URL|PATH] [--format json]',
  async run(args, io) {
    const parsed = parseArgs(args, spec);
    const sel = selection(parsed);
    return withRemote(parsed, io, async ({ store, objects, setting }) => {
      const counts = emptyCounts();
      // --run N: the entries of a run this store knows (e.g. a teammate's, seen through a shared tracking store).
      const keys =
        sel.run !== undefined ? (await cacheKeys(store, sel)).map((k) => k.key) : await setting.remote.listEntries();
      let i = 0;
      for (const key of keys) {
        i++;
        await pullEntry(setting.remote, objects, key, counts);
        if (io.isTty) io.stderr(`\rpulling ${i}/${keys.length}          `);
      }
      if (io.isTty && keys.length > 0) io.stderr('\n');
      return counts;
    });
  },
};
