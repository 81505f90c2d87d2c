import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { at, pipeline, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('diagnostics through the language server', () => {
  test('incremental edits: a typo in a reference is found at its place, then fixed by a one-character edit', async () => {
    const pos = at(pipeline, 'params.lr}', 'params.'.length + 1);
    const p = await session.change(uri, [
      { range: { start: pos, end: { line: pos.line, character: pos.character + 1 } }, text: 'x' },
    ]);
    const d = p.diagnostics.find((x) => x.code === 'unknown-param');
    assert.ok(d, `unknown-param; got ${p.diagnostics.map((x) => String(x.code)).join(', ')}`);
    assert.equal(d.range.start.line, pos.line);
    const back = await session.change(uri, [
      { range: { start: pos, end: { line: pos.line, character: pos.character + 1 } }, text: 'r' },
    ]);
    assert.deepEqual(back.diagnostics, []);
  });
});
