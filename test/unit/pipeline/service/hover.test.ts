import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { at, base, host, mark } from './fixture.js';

describe('pipeline service: hover', () => {
  test('hover: a param reference shows its resolved value and type', () => {
    const { doc, offset } = at(mark(base, '${params.epochs}', 10));
    const h = pipelineService.hover(doc, offset, host);
    assert.match(h?.contents ?? '', /param epochs\*\*: int = `5`/);
    assert.match(h?.contents ?? '', /Passes over the data/);
    assert.equal(doc.text.slice(h?.span.start, h?.span.end), '${params.epochs}');
  });

  test('hover: an output reference shows its path; a built-in its docs; an option its docs and default', () => {
    const out = at(mark(base, '${steps.train.outputs.model}', 23));
    assert.match(pipelineService.hover(out.doc, out.offset, host)?.contents ?? '', /\.cairn\/work\/train\/model\.json/);
    const b = at(mark(base, 'evaluate.classification', 3));
    assert.match(pipelineService.hover(b.doc, b.offset, host)?.contents ?? '', /ROC-AUC/);
    const opt = at(mark(base, 'test_fraction', 2));
    assert.match(pipelineService.hover(opt.doc, opt.offset, host)?.contents ?? '', /default `0\.2`/);
    const key = at(mark(base, 'gate:', 1));
    assert.match(pipelineService.hover(key.doc, key.offset, host)?.contents ?? '', /Evaluation gates/);
  });

  test("hover: evaluate's `explain` option shows its docs from the built-in catalogue", () => {
    const text = base.replace(
      '      target: churned\n    gate:',
      '      target: churned\n      explain: true\n    gate:',
    );
    assert.notEqual(text, base, 'the fixture has an evaluate step with target churned and a gate');
    const opt = at(mark(text, 'explain:', 2));
    assert.match(
      pipelineService.hover(opt.doc, opt.offset, host)?.contents ?? '',
      /default `false`[\s\S]*permutation importance/,
    );
  });
});
