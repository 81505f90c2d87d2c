import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { pipelineService } from '../../../../language-server/src/services/pipeline/index.js';
import { at, base, host, mark } from './fixture.js';

describe('pipeline service: references', () => {
  test('references: a step is found in every ${steps...} and needs', () => {
    const text = base.replace(
      '    uses: evaluate.classification',
      '    uses: evaluate.classification\n    needs: [split]',
    );
    const { doc, offset } = at(mark(text, '  split:', 3));
    const refs = pipelineService.references(doc, offset, host, true);
    assert.equal(refs.length, 4);
    assert.ok(refs.every((r) => doc.text.slice(r.span.start, r.span.end) === 'split'));
    assert.equal(pipelineService.references(doc, offset, host, false).length, 3);
  });
});
