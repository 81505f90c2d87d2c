import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('the outline through the language server', () => {
  test('the outline lists params, data and steps', async () => {
    const symbols = await session.symbols(uri);
    const names = JSON.stringify(symbols.map((s) => [s.name, (s.children ?? []).map((c) => c.name)]));
    for (const name of ['lr', 'customers', 'split', 'train', 'evaluate'])
      assert.ok(names.includes(`"${name}"`), `${name} in ${names}`);
  });
});
