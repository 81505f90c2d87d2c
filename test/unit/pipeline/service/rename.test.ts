import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { at, base, file, host, mark } from './fixture.js';

describe('pipeline service: rename', () => {
  test('rename: a param, with the key and every use, and the result checks clean', () => {
    const { doc, offset } = at(mark(base, '  lr: 0.01', 3));
    assert.deepEqual(pipelineService.prepareRename(doc, offset), { start: offset - 1, end: offset + 1 });
    const result = pipelineService.rename(doc, offset, 'learning_rate', host);
    assert.ok('edits' in result);
    const edited = [...result.edits]
      .sort((a, b) => b.span.start - a.span.start)
      .reduce((t, e) => t.slice(0, e.span.start) + e.newText + t.slice(e.span.end), doc.text);
    assert.match(edited, /learning_rate: 0\.01/);
    assert.match(edited, /\$\{params\.learning_rate\}/);
    assert.deepEqual(pipelineService.diagnostics(pipelineService.parse(file, edited), host), []);
  });

  test('rename: a command-step output, and refusals', () => {
    const text = `version: 1\nsteps:\n  a:\n    run: make\n    outputs: { table: t.csv }\n  b:\n    run: cat \${steps.a.outputs.table}\n    metrics: [m.json]\n`;
    const { doc, offset } = at(mark(text, 'table}', 2));
    const r = pipelineService.rename(doc, offset, 'rows', host);
    assert.ok('edits' in r && r.edits.length === 2);
    const bad = pipelineService.rename(doc, offset, 'not a name', host);
    assert.ok('error' in bad);
    const taken = at(mark(base, '  split:', 3));
    assert.ok('error' in pipelineService.rename(taken.doc, taken.offset, 'train', host));
    // Built-in outputs are the catalogue's names.
    const builtinOut = at(mark(base, '${steps.split.outputs.train}', 23));
    assert.equal(pipelineService.prepareRename(builtinOut.doc, builtinOut.offset), undefined);
  });
});
