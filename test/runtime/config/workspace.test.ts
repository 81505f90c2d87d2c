import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, test } from 'node:test';
import { ConfigError, workspaceSettings } from '../../../runtime/src/config/workspace.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function workspace(config?: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-config-'));
  made.push(dir);
  if (config !== undefined) {
    mkdirSync(path.join(dir, '.cairn'));
    writeFileSync(path.join(dir, '.cairn', 'config.yaml'), config);
  }
  return dir;
}

test('no config file: the embedded store, no remote, the local executor', () => {
  const s = workspaceSettings(workspace(), {}, {});
  assert.deepEqual(
    [s.store.value, s.store.source, s.remote.value, s.executor.value, s.executor.source],
    [undefined, 'default', undefined, 'local', 'default'],
  );
});

test('flag > environment > file, each with where it came from', () => {
  const dir = workspace(
    'store:\n  url: postgres://file@h/db\nremote:\n  url: /mnt/r\nexecutor: slurm\nslurm:\n  partition: gpu\n',
  );
  const fromFile = workspaceSettings(dir, {}, {});
  assert.equal(fromFile.store.value, 'postgres://file@h/db');
  assert.equal(fromFile.store.from, '.cairn/config.yaml:2');
  assert.equal(fromFile.executor.value, 'slurm');
  assert.equal(fromFile.config.slurm?.partition, 'gpu');
  const fromEnv = workspaceSettings(dir, {}, { CAIRN_STORE_URL: 'postgres://env@h/db', CAIRN_EXECUTOR: 'local' });
  assert.deepEqual(
    [fromEnv.store.value, fromEnv.store.source, fromEnv.executor.value],
    ['postgres://env@h/db', 'env', 'local'],
  );
  const fromFlag = workspaceSettings(
    dir,
    { store: 'postgres://flag@h/db' },
    { CAIRN_STORE_URL: 'postgres://env@h/db' },
  );
  assert.deepEqual([fromFlag.store.value, fromFlag.store.from], ['postgres://flag@h/db', '--store']);
  assert.equal(fromFlag.remote.value, '/mnt/r');
});

test('an unknown key is named with its line and the allowed keys', () => {
  const dir = workspace('store:\n  url: x\nexecuter: slurm\n');
  assert.throws(
    () => workspaceSettings(dir, {}, {}),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^\.cairn\/config\.yaml:3: unknown key executer; allowed keys: /);
      return true;
    },
  );
});

test('a wrong value is named at its own line', () => {
  const dir = workspace('executor: local\nslurm:\n  partition: gpu\n  time: soon\n');
  assert.throws(() => workspaceSettings(dir, {}, {}), /^ConfigError: \.cairn\/config\.yaml:4: slurm\.time: /);
});

test('YAML that does not parse names the line; an unknown executor from the environment names the variable', () => {
  assert.throws(() => workspaceSettings(workspace('store:\n  url: [x\n'), {}, {}), /config\.yaml:\d+: not valid YAML/);
  assert.throws(
    () => workspaceSettings(workspace(), {}, { CAIRN_EXECUTOR: 'k8s' }),
    /CAIRN_EXECUTOR: unknown executor "k8s"; use local or slurm/,
  );
});
