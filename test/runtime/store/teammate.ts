import * as os from 'node:os';
import * as readline from 'node:readline';
import { Store } from '../../../runtime/src/store/store.js';
import { newRun } from '../../lib/stores.js';

/**
 * Another process on the same store, for the live-runs test: `node --import tsx teammate.ts LOCATION` (a SQLite file
 * or a postgres:// URL) reads commands from stdin, one a line, and answers each with one line of JSON:
 * `create` → `{"id":N}` (a new running run), `finish ID STATUS` → `{"ok":true}`. Closes the store when stdin ends.
 */
async function main(): Promise<void> {
  const [location] = process.argv.slice(2);
  if (!location) throw new Error('usage: teammate.ts LOCATION');
  const store = location.startsWith('postgres://') ? await Store.postgres(location) : new Store(location);
  await store.ready;
  try {
    for await (const line of readline.createInterface({ input: process.stdin })) {
      const [command, id, status] = line.trim().split(/\s+/);
      if (command === 'create') {
        const runId = await store.runs.createRun(
          newRun('shared', {
            user: 'alice@team.example',
            // This machine: only the process differs (a `cairn run` in a terminal beside the editor).
            host: os.hostname(),
          }),
        );
        process.stdout.write(`${JSON.stringify({ id: runId })}\n`);
      } else if (command === 'finish' && id && (status === 'succeeded' || status === 'failed')) {
        await store.runs.finishRun(Number(id), status, status === 'failed' ? 'it broke' : null);
        process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
      } else throw new Error(`teammate.ts: unknown command "${line}"`);
    }
  } finally {
    await store.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
