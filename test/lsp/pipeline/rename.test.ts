import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyEdits } from '../helpers/lspClient.js';
import { at, pipeline, reset, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('rename through the language server', () => {
  test('rename of a step updates every reference and leaves the pipeline clean', async () => {
    const range = await session.prepareRename(uri, at(pipeline, '  split:', 3));
    assert.deepEqual(range, { start: at(pipeline, '  split:', 2), end: at(pipeline, '  split:', 7) });
    const edit = await session.rename(uri, at(pipeline, '  split:', 3), 'holdout');
    const renamed = applyEdits(pipeline, edit?.changes?.[uri] ?? []);
    assert.equal(renamed.match(/\bsplit\b/g)?.length, 1, 'only the built-in name data.split keeps the word');
    assert.match(renamed, /\$\{steps\.holdout\.outputs\.train\}/);
    assert.deepEqual((await session.change(uri, [{ text: renamed }])).diagnostics, []);
    await assert.rejects(
      session.rename(uri, at(renamed, '  holdout:', 3), 'not a name'),
      (e: Error) => e.message.length > 0,
    );
    await reset();
  });
});
