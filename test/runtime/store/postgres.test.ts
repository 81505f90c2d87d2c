import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliCommand } from '../../../runtime/src/cli/command.js';
import { runsCommand } from '../../../runtime/src/cli/commands/runs.js';
import { storeCommand } from '../../../runtime/src/cli/commands/store.js';
import { AliasMovedError, moveAlias } from '../../../runtime/src/registry/registry.js';
import { Store } from '../../../runtime/src/store/store.js';
import { newRun } from '../../lib/stores.js';
import { postgresCluster, type PgCluster } from '../../lib/postgres.js';

async function cli(
  command: CliCommand,
  args: string[],
  cwd: string,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await command.run(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd, isTty: false });
  return { code, out, err };
}

/** A port nothing listens on: a cluster's port after that cluster is gone is not known, so take a fresh one. */
async function deadPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
    });
  });
}

describe('PostgreSQL store', () => {
  let cluster: PgCluster;
  let url: string;
  let store: Store;
  let ws: string;
  before(async () => {
    cluster = await postgresCluster();
    url = await cluster.createDatabase('pgstore');
    store = await Store.postgres(url);
    ws = mkdtempSync(path.join(os.tmpdir(), 'cairn-pgws-'));
  });
  after(async () => {
    await store.close();
    rmSync(ws, { recursive: true, force: true });
  });

  test('cairn store info names the store, where the setting came from, schema and rows; the password never shows', async () => {
    const id = await store.runs.createRun(newRun('info'));
    await store.runs.finishRun(id, 'succeeded');
    const r = await cli(storeCommand, ['info', '--store', url, '--format', 'json'], ws);
    assert.equal(r.code, 0);
    const info = JSON.parse(r.out) as {
      kind: string;
      location: string;
      source: string;
      schema: number;
      supportedSchema: number;
      rows: Record<string, number>;
    };
    assert.equal(info.kind, 'postgres');
    assert.equal(info.source, 'flag');
    assert.equal(info.schema, info.supportedSchema);
    assert.ok((info.rows.runs ?? 0) >= 1);
    assert.equal(info.rows.schema_version, undefined, 'the version table is not part of the logical schema');
    assert.ok(!r.out.includes(cluster.password), 'password redacted');
    assert.match(info.location, /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    // The workspace file names the store too; runs list reads it from there.
    mkdirSync(path.join(ws, '.cairn'), { recursive: true });
    writeFileSync(path.join(ws, '.cairn', 'config.yaml'), `store:\n  url: ${url}\n`);
    const text = await cli(storeCommand, ['info'], ws);
    assert.match(text.out, /setting: config \(\.cairn\/config\.yaml:2\)/);
    const list = await cli(runsCommand, ['list', '--pipeline', 'info', '--format', 'json'], ws);
    assert.deepEqual(
      (JSON.parse(list.out) as { runs: Array<{ id: number }> }).runs.map((x) => x.id),
      [id],
    );
    rmSync(path.join(ws, '.cairn'), { recursive: true, force: true });
  });

  test('bad input: wrong password, server down, no such database, a URL that is not PostgreSQL: clear errors, no password', async () => {
    const wrong = cluster.urlOf(new URL(url).pathname.slice(1), 'postgres', 'not-the-password');
    await assert.rejects(Store.postgres(wrong), (e: Error) => {
      assert.match(e.message, /refused the login of user postgres/);
      assert.match(e.message, /check the password/);
      assert.ok(!e.message.includes('not-the-password'));
      return true;
    });
    const down = `postgres://postgres:${cluster.password}@127.0.0.1:${await deadPort()}/x`;
    await assert.rejects(Store.postgres(down), (e: Error) => {
      assert.match(e.message, /cannot reach the tracking store postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/x/);
      assert.match(e.message, /is the server running/);
      assert.ok(!e.message.includes(cluster.password));
      return true;
    });
    await assert.rejects(
      Store.postgres(cluster.urlOf('no_such_db')),
      /has no such database.*create it \(createdb\) or fix the URL/,
    );
    await assert.rejects(cli(storeCommand, ['info', '--store', 'mysql://u:pw@h/db'], ws), (e: Error) => {
      assert.match(
        e.message,
        /--store: store mysql:\/\/u:\*\*\*@h\/db: only postgres:\/\/ URLs and SQLite file paths are supported/,
      );
      return true;
    });
  });

  test('libpq environment variables and a password file reach the server (nothing in the URL)', async () => {
    const db = new URL(url).pathname.slice(1);
    const keys = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGPASSFILE', 'PGSSLMODE'] as const;
    const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    const restore = () => {
      for (const k of keys) {
        const v = saved[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
    try {
      Object.assign(process.env, {
        PGHOST: '127.0.0.1',
        PGPORT: String(cluster.port),
        PGUSER: 'postgres',
        PGPASSWORD: cluster.password,
        PGSSLMODE: 'disable',
      });
      const fromEnv = await Store.postgres(`postgres:///${db}`);
      assert.ok((await fromEnv.runs.list({})).total >= 0);
      await fromEnv.close();
      delete process.env.PGPASSWORD;
      const pgpass = path.join(ws, 'pgpass');
      writeFileSync(pgpass, `127.0.0.1:${cluster.port}:*:postgres:${cluster.password}\n`, { mode: 0o600 });
      process.env.PGPASSFILE = pgpass;
      const fromFile = await Store.postgres(`postgres://postgres@127.0.0.1:${cluster.port}/${db}?sslmode=disable`);
      assert.equal(fromFile.file.includes(cluster.password), false);
      await fromFile.close();
    } finally {
      restore();
    }
  });

  test('a read-only role browses and gets a clear error on write', async () => {
    const db = new URL(url).pathname.slice(1);
    await cluster.admin(
      db,
      "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader",
    );
    const id = await store.runs.createRun(newRun('ro'));
    await store.runs.finishRun(id, 'succeeded');
    const reader = await Store.postgres(cluster.urlOf(db, 'reader', 'reader-pw'));
    try {
      assert.deepEqual(
        (await reader.runs.list({ filter: { pipeline: 'ro' } })).runs.map((r) => r.id),
        [id],
      );
      assert.equal((await reader.runs.compare([id])).runs.length, 1);
      await assert.rejects(reader.runs.setTag(id, 'k', 'v'), (e: Error) => {
        assert.match(e.message, /this store is read-only for user reader: permission denied for table tags/);
        assert.ok(!e.message.includes('reader-pw'));
        return true;
      });
    } finally {
      await reader.close();
    }
  });

  test('concurrent writers on separate connections lose no row and surface no error', async () => {
    const writers = await Promise.all(Array.from({ length: 4 }, () => Store.postgres(url)));
    try {
      const runIds = await Promise.all(
        writers.map(async (w, k) => {
          const id = await w.runs.createRun(newRun(`conc-${k}`));
          for (let i = 0; i < 5000; i++) w.writer.add(id, null, 'loss', i, i / 5000);
          for (let t = 0; t < 20; t++) await w.runs.setTag(id, `t${t}`, String(k));
          await w.writer.flush();
          await w.runs.finishRun(id, 'succeeded');
          return id;
        }),
      );
      for (const id of runIds) {
        assert.equal(
          (await store.sqlDb.get<{ n: number }>('SELECT count(*) AS n FROM metrics WHERE run_id = ?', [id]))?.n,
          5000,
        );
        assert.equal(
          (await store.sqlDb.get<{ n: number }>('SELECT count(*) AS n FROM tags WHERE run_id = ?', [id]))?.n,
          20,
        );
      }
    } finally {
      await Promise.all(writers.map((w) => w.close()));
    }
  });

  test('several processes writing to one store (one pipeline, racing to create it) lose no row and fail none', async () => {
    const writer = path.join(__dirname, 'pgWriter.ts');
    const [processes, runs, points] = [4, 5, 2000];
    const outputs = await Promise.all(
      Array.from(
        { length: processes },
        (_, k) =>
          new Promise<number[]>((resolve, reject) => {
            execFile(
              process.execPath,
              ['--import', 'tsx', writer, url, `w${k}`, String(runs), String(points)],
              (error, stdout, stderr) => {
                if (error) reject(new Error(`writer ${k} failed: ${stderr}`));
                else resolve(JSON.parse(stdout) as number[]);
              },
            );
          }),
      ),
    );
    const ids = outputs.flat();
    assert.equal(new Set(ids).size, processes * runs, 'every run got its own id');
    const count = async (sql: string) =>
      (await store.sqlDb.get<{ n: number }>(sql, [ids.length > 0 ? Math.min(...ids) : 0]))?.n;
    assert.equal(await count("SELECT count(*) AS n FROM runs WHERE id >= ? AND user_name LIKE 'w%'"), processes * runs);
    assert.equal(
      await count("SELECT count(*) AS n FROM metrics WHERE run_id >= ? AND key = 'loss'"),
      processes * runs * points,
    );
    assert.equal(await count('SELECT count(*) AS n FROM step_runs WHERE run_id >= ?'), processes * runs * 2);
    assert.equal(
      (await store.sqlDb.get<{ n: number }>("SELECT count(*) AS n FROM pipelines WHERE name = 'shared'"))?.n,
      1,
    );
  });

  test('two racing promotions: exactly one wins, the other is told the alias moved meanwhile', async () => {
    const now = Date.now();
    await store.tx(async (s) => {
      await s.registry.touchModel('race', now);
      for (const version of [1, 2, 3]) {
        await s.registry.insertVersion({
          name: 'race',
          version,
          runId: null,
          stepRunId: null,
          step: null,
          artifactHash: `h${version}`,
          artifactKind: 'file',
          path: 'm.bin',
          cardPath: null,
          cardHash: null,
          metrics: {},
          createdAt: now,
        });
      }
      await moveAlias(s, {
        name: 'race',
        alias: 'prod',
        version: 1,
        action: 'set',
        undoes: null,
        actor: 't',
        reason: null,
      });
    });
    const a = await Store.postgres(url);
    const b = await Store.postgres(url);
    try {
      const results = await Promise.allSettled(
        (
          [
            [a, 2],
            [b, 3],
          ] as const
        ).map(([s, version]) =>
          s.tx((r) =>
            moveAlias(r, {
              name: 'race',
              alias: 'prod',
              version,
              action: 'set',
              undoes: null,
              actor: 't',
              reason: null,
              expect: 1,
            }),
          ),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assert.ok(lost[0]?.reason instanceof AliasMovedError, String(lost[0]?.reason));
      assert.match((lost[0]?.reason as Error).message, /moved meanwhile/);
      const history = await store.registry.history('race', 'prod');
      assert.equal(history.length, 2, 'one move recorded besides the first, nothing half-applied');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
