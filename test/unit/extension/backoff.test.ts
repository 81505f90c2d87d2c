import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, RestartPolicy } from '../../../extension/src/runtime/backoff.js';
import { defaultNodePath, resolveNodePath } from '../../../extension/src/runtime/nodePath.js';

test('backoff doubles from the base and stops at the cap', () => {
  const o = { baseMs: 500, maxMs: 4000 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o)),
    [500, 1000, 2000, 4000, 4000, 4000],
  );
  assert.equal(backoffDelay(-1, o), 500);
  assert.equal(backoffDelay(Number.NaN, o), 500);
});

test('the restart policy gives up after too many crashes in the window, and forgets old ones', () => {
  const policy = new RestartPolicy({ baseMs: 100, maxMs: 1000, windowMs: 60_000, maxCrashes: 3 });
  assert.deepEqual(policy.onCrash(0), { restart: true, delayMs: 100, attempt: 0 });
  assert.deepEqual(policy.onCrash(1000), { restart: true, delayMs: 200, attempt: 1 });
  assert.deepEqual(policy.onCrash(2000), { restart: true, delayMs: 400, attempt: 2 });
  assert.deepEqual(policy.onCrash(3000), { restart: false, crashes: 4 });
  // Long after: the window has emptied, so a single crash restarts at the base delay again.
  assert.deepEqual(policy.onCrash(200_000), { restart: true, delayMs: 100, attempt: 0 });
  policy.onCrash(200_001);
  policy.reset();
  assert.deepEqual(policy.onCrash(200_002), { restart: true, delayMs: 100, attempt: 0 });
});

test('the runtime runs on the host Node unless the host is Electron; the setting wins', () => {
  assert.equal(
    defaultNodePath({ execPath: '/usr/lib/code-server/lib/node', versions: { node: '20.11.1' } }),
    '/usr/lib/code-server/lib/node',
  );
  assert.equal(
    defaultNodePath({ execPath: '/usr/share/code/code', versions: { node: '20.11.1', electron: '34.2.0' } }),
    'node',
  );
  assert.equal(resolveNodePath('  /opt/node20/bin/node ', { execPath: '/x', versions: {} }), '/opt/node20/bin/node');
  assert.equal(resolveNodePath('   ', { execPath: '/x', versions: {} }), '/x');
  assert.equal(resolveNodePath(undefined, { execPath: '/x', versions: { electron: '1' } }), 'node');
});
