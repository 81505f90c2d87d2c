import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, before, test } from 'node:test';
import { RunProgressNotification, RuntimeReadyNotification } from '@cairn/protocol';
import { Engine } from '../../../runtime/src/executor/engine.js';
import type { Store } from '../../../runtime/src/store/store.js';
import { connectRuntime, type InProcessRuntime } from '../../lib/rpcRuntime.js';
import { forEachBackend, newRun } from '../../lib/stores.js';
import { tempWorkspace } from '../engine/helpers.js';

// The runtime announces the runs another process starts in its store (a teammate, the CLI) and their status changes
// with the run notifications of its own runs, checked here as the editor checks them (zod), on both backends: a real
// second process (teammate.ts) writes, this one's runtime listens.

/** The teammate process: one command a line in, one JSON line out. */
class Teammate {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  constructor(location: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'teammate.ts'), location]);
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }
  async send(command: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${command}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`the teammate process ended: ${this.stderr}`);
    return JSON.parse(next.value) as Record<string, unknown>;
  }
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

/** Notifications as they arrive; `waitFor` resolves on the first that matches (a condition, never a sleep). */
class Inbox {
  readonly seen: RunProgressNotification.Params[] = [];
  private waiters: Array<{ match: (p: RunProgressNotification.Params) => boolean; resolve: () => void }> = [];
  add(p: RunProgressNotification.Params): void {
    this.seen.push(p);
    this.waiters = this.waiters.filter((w) => (w.match(p) ? (w.resolve(), false) : true));
  }
  waitFor(match: (p: RunProgressNotification.Params) => boolean): Promise<void> {
    if (this.seen.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
  of(runId: number): string[] {
    return this.seen.filter((p) => p.runId === runId).map((p) => p.status);
  }
}

forEachBackend('runs of other processes, live', (b) => {
  let ws: ReturnType<typeof tempWorkspace>;
  let store: Store;
  let engine: Engine;
  let runtime: InProcessRuntime;
  let teammate: Teammate;
  const inbox = new Inbox();

  before(async () => {
    ws = tempWorkspace(`cairn-live-${b.name}-`);
    store = await b.open();
    engine = new Engine(ws.dir, { store });
    let ready = (): void => {};
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    runtime = connectRuntime(engine, { runWatch: { minMs: 20, maxMs: 200 } }, (client) => {
      client.onNotification(RuntimeReadyNotification.method, () => ready());
      client.onNotification(RunProgressNotification.method, (raw: unknown) =>
        inbox.add(RunProgressNotification.paramsSchema.parse(raw)),
      );
    });
    // Ready means watching: nothing the teammate does after it can be missed.
    await isReady;
    teammate = new Teammate(await b.location());
  });
  after(async () => {
    await teammate.close();
    await runtime.close();
    await engine.close();
    ws.cleanup();
  });

  test(
    "a teammate's new run and its end are announced once each; this process's own run is not",
    { timeout: 60_000 },
    async () => {
      const { id } = (await teammate.send('create')) as { id: number };
      await inbox.waitFor((p) => p.runId === id && p.status === 'running');
      assert.deepEqual(
        inbox.seen.find((p) => p.runId === id),
        { runId: id, pipeline: 'shared', status: 'running', elsewhere: true },
      );

      // A run this process starts is the engine's to announce: the watcher looks at it (it is committed before the
      // teammate's end, which triggers the look that must announce that end) and says nothing.
      const own = await store.runs.createRun(newRun('shared', { host: os.hostname() }));
      assert.deepEqual(await teammate.send(`finish ${id} failed`), { ok: true });
      await inbox.waitFor((p) => p.runId === id && p.status === 'failed');
      const end = inbox.seen.find((p) => p.runId === id && p.status === 'failed');
      assert.equal(end?.message, 'it broke');
      assert.ok(end?.durationMs !== undefined && end.durationMs >= 0, 'the end carries the run duration');

      const second = (await teammate.send('create')) as { id: number };
      await inbox.waitFor((p) => p.runId === second.id && p.status === 'running');
      assert.deepEqual(inbox.of(id), ['running', 'failed'], 'each change once, no repeats');
      assert.deepEqual(inbox.of(own), [], "this process's own run is not announced by the watcher");
      await store.runs.finishRun(own, 'succeeded');
      await teammate.send(`finish ${second.id} succeeded`);
      await inbox.waitFor((p) => p.runId === second.id && p.status === 'succeeded');
      assert.deepEqual(inbox.of(own), []);
      assert.deepEqual(inbox.of(second.id), ['running', 'succeeded']);
    },
  );
});
