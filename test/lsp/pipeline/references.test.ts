import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { at, pipeline, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('references through the language server', () => {
  test('references find every use of a step, all in the pipeline file', async () => {
    const refs = await session.references(uri, at(pipeline, '  split:', 3));
    assert.ok(refs.length >= 3, `split is declared once and used twice: ${refs.length}`);
    assert.ok(refs.every((r) => r.uri === uri));
  });
});
