import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { at, pipeline, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('definition through the language server', () => {
  test('definition connects params, steps and outputs to their declarations', async () => {
    const defs = await session.definition(uri, at(pipeline, '${params.lr}', 10));
    assert.deepEqual(
      defs.map((d) => [d.uri, d.range.start]),
      [[uri, at(pipeline, '  lr: 0.01', 2)]],
    );
    const stepDefs = await session.definition(uri, at(pipeline, '${steps.split.outputs.train}', 9));
    assert.deepEqual(stepDefs[0]?.range.start, at(pipeline, '  split:', 2));
  });
});
