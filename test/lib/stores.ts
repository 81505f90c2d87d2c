import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe } from 'node:test';
import { Store, type NewRun } from '../../runtime/src/store/store.js';
import { postgresCluster } from './postgres.js';

/** A run of `pipeline` with no params, as a test records it (`extra`: who, where, params…). */
export function newRun(pipeline: string, extra: Partial<NewRun> = {}): NewRun {
  return {
    pipelineName: pipeline,
    pipelineFile: `${pipeline}.cairn.yaml`,
    params: {},
    gitCommit: null,
    gitDirty: false,
    platform: 'test',
    cairnVersion: '0',
    selection: null,
    ...extra,
  };
}

/**
 * The store backends every store/repository suite runs against: the embedded SQLite file and a real PostgreSQL
 * (a throwaway cluster, test/lib/postgres.ts). One suite, both backends: `forEachBackend('name', (b) => { … })`.
 */
export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** Opens (on first call: creates) this suite's store; every call opens another connection to the same store. */
  open(): Promise<Store>;
  /** Where the store is: the SQLite file or the PostgreSQL URL (with password). */
  location(): Promise<string>;
}

function sqliteBackend(): StoreBackend {
  let dir: string | undefined;
  const location = () => {
    dir ??= mkdtempSync(path.join(os.tmpdir(), 'cairn-store-'));
    return Promise.resolve(path.join(dir, '.cairn', 'cairn.db'));
  };
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    name: 'sqlite',
    location,
    async open() {
      const s = new Store(await location());
      await s.ready;
      return s;
    },
  };
}

function postgresBackend(): StoreBackend {
  let url: Promise<string> | undefined;
  const location = () => (url ??= postgresCluster().then((c) => c.createDatabase('store')));
  return { name: 'postgres', location, open: async () => Store.postgres(await location()) };
}

export function forEachBackend(title: string, suite: (b: StoreBackend) => void): void {
  for (const make of [sqliteBackend, postgresBackend]) {
    const name = make === sqliteBackend ? 'sqlite' : 'postgres';
    void describe(`${title} [${name}]`, () => suite(make()));
  }
}
