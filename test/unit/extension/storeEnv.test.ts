import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runtimeEnv, storePasswordKey, withoutPassword } from '../../../extension/src/runtime/storeEnv.js';

test('the runtime gets the store URL without a password and the password from secret storage as PGPASSWORD', () => {
  const base = { PATH: '/bin' };
  assert.deepEqual(
    runtimeEnv(base, '/ws', '', 'pw'),
    { PATH: '/bin', CAIRN_WORKSPACE: '/ws' },
    'no store configured: nothing added',
  );
  const env = runtimeEnv(base, '/ws', ' postgres://ana:inline@db.example:5432/cairn?sslmode=require ', 'from-secrets');
  assert.equal(env.CAIRN_STORE_URL, 'postgres://ana@db.example:5432/cairn?sslmode=require');
  assert.equal(env.PGPASSWORD, 'from-secrets');
  assert.equal(runtimeEnv(base, '/ws', 'postgres://ana@h/db', undefined).PGPASSWORD, undefined);
  assert.equal(base.PATH, '/bin');
  assert.equal(Object.keys(base).length, 1, 'the base environment is not changed');
});

test('a password is kept per server, database and user, never keyed by the password itself', () => {
  assert.equal(storePasswordKey('postgres://ana:x@h:5432/db'), storePasswordKey('postgres://ana@h:5432/db'));
  assert.notEqual(storePasswordKey('postgres://ana@h/db'), storePasswordKey('postgres://bob@h/db'));
  assert.ok(!storePasswordKey('postgres://ana:secret@h/db').includes('secret'));
  assert.equal(withoutPassword('not a url'), 'not a url');
});
