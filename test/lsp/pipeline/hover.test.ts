import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { at, pipeline, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('hover through the language server', () => {
  test('hover documents built-ins and resolves param values', async () => {
    const builtin = await session.hover(uri, at(pipeline, 'train.logistic-regression', 3));
    assert.ok(builtin, 'hover on a built-in');
    assert.match(JSON.stringify(builtin.contents), /logistic/i);
    const param = await session.hover(uri, at(pipeline, '${params.lr}', 10));
    assert.match(JSON.stringify(param?.contents ?? ''), /0\.01/);
  });
});
