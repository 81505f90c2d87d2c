import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { storeUrlKind } from '@cairn/protocol/config.js';
import type { Setting } from '../../../runtime/src/config/workspace.js';
import { storeLocation } from '../../../runtime/src/store/open.js';

// The runtime resolves a store setting with the classification the editor's config checks use (storeUrlKind).

const setting = (value: string): Setting<string | undefined> => ({
  value,
  source: 'config',
  from: '.cairn/config.yaml:2',
});

describe('storeLocation', () => {
  test('a postgres URL, a relative path and the default', () => {
    assert.deepEqual(storeLocation('/ws', setting('postgresql://a@h:5432/db')), {
      kind: 'postgres',
      url: 'postgresql://a@h:5432/db',
    });
    assert.deepEqual(storeLocation('/ws', setting('shared/c.db')), {
      kind: 'sqlite',
      file: path.resolve('/ws/shared/c.db'),
    });
    assert.deepEqual(storeLocation('/ws', { value: undefined, source: 'default', from: 'default' }), {
      kind: 'sqlite',
      file: path.join('/ws', '.cairn', 'cairn.db'),
    });
  });

  test('what storeUrlKind refuses, the runtime refuses, naming where it came from and never the password', () => {
    for (const url of ['mysql://a@h/db', 'postgres://a:s3cret@h:port/db']) {
      const kind = storeUrlKind(url).kind;
      assert.ok(kind === 'unsupported-scheme' || kind === 'bad-url', kind);
      assert.throws(
        () => storeLocation('/ws', setting(url)),
        (e: Error) =>
          e.message.startsWith('.cairn/config.yaml:2: ') &&
          /postgres:\/\/USER@HOST:PORT\/DATABASE/.test(e.message) &&
          !e.message.includes('s3cret'),
      );
    }
    assert.deepEqual(storeUrlKind('postgres://a:s3cret@h:5432/db'), { kind: 'postgres', password: true });
  });
});
