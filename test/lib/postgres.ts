import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for tests: the real Debian server, initdb into a temp dir, a free port, the unix
 * socket in that dir, stopped and removed when the process exits (also on failure or a signal). One cluster per test
 * process (node --test runs each file in its own), one database per suite: initdb costs a second, CREATE DATABASE
 * milliseconds. Host connections need the password (so tests see authentication fail); the cluster is fsync-free.
 */
export interface PgCluster {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A fresh, empty database; returns its URL (with the password). */
  createDatabase(prefix?: string): Promise<string>;
  /** Runs SQL as the superuser in a database of this cluster. */
  admin(database: string, sql: string): Promise<void>;
  urlOf(database: string, user?: string, password?: string): string;
  /** Stops the cluster and removes its folder now rather than at exit (the e2e part that starts one); the next
   * postgresCluster() starts a fresh one. */
  stop(): void;
}

const PASSWORD = 's3cret-test-pw';
let started: Promise<PgCluster> | undefined;
let counter = 0;

/** The server's bin dir: pg_config's, else the newest /usr/lib/postgresql/N/bin (no reliance on /usr/local links). */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config missing: look in the Debian layout.
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  const bin = candidates.find((d) => existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'pg_ctl')));
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: run bash scripts/setup.sh');
  return bin;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

/** initdb refuses to run as root: then the commands run as the `postgres` OS user, in a dir it owns. */
function runAs(): { prefix: string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  let ids: string[];
  try {
    ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim().split(/\s+/);
  } catch {
    throw new Error(
      'running as root but there is no `postgres` OS user to run the test cluster: run bash scripts/setup.sh',
    );
  }
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { prefix: ['runuser', '-u', 'postgres', '--'], uid: Number(ids[0]), gid };
}

function exec(prefix: string[], file: string, args: string[]): void {
  const [cmd, ...rest] = [...prefix, file, ...args] as [string, ...string[]];
  execFileSync(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function start(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const who = runAs();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-pg-'));
  const data = path.join(dir, 'data');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, PASSWORD);
  if (who.uid !== undefined && who.gid !== undefined) {
    chownSync(dir, who.uid, who.gid);
    chownSync(pwfile, who.uid, who.gid);
  }
  chmodSync(dir, 0o700);
  const port = await freePort();
  let running = false;
  const stop = () => {
    if (running) {
      try {
        exec(who.prefix, path.join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        // Already gone: nothing to stop.
      }
      running = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop();
      process.exit(130);
    });
  }
  try {
    exec(who.prefix, path.join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    exec(who.prefix, path.join(bin, 'pg_ctl'), ['start', '-w', '-D', data, '-l', path.join(dir, 'log'), '-o', opts]);
    running = true;
  } catch (error) {
    stop();
    const e = error as { stderr?: Buffer; message: string };
    throw new Error(`could not start the test PostgreSQL cluster: ${e.stderr?.toString() ?? e.message}`);
  }
  const urlOf = (database: string, user = 'postgres', password = PASSWORD) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const admin = async (database: string, sql: string) => {
    const c = new pg.Client({ connectionString: urlOf(database) });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    user: 'postgres',
    password: PASSWORD,
    urlOf,
    admin,
    stop() {
      stop();
      process.removeListener('exit', stop);
      started = undefined;
    },
    async createDatabase(prefix = 't') {
      const name = `${prefix}_${process.pid}_${++counter}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      await admin('postgres', `CREATE DATABASE ${name}`);
      return urlOf(name);
    },
  };
}

/** The process's cluster, started on first use. */
export function postgresCluster(): Promise<PgCluster> {
  started ??= start();
  return started;
}
