import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelCardService } from '../../../language-server/src/services/modelCard/index.js';
import type { WorkspaceHost } from '../../../language-server/src/services/types.js';
import { cursor } from './helpers.js';

const file = '/ws/cards/MODEL_CARD.md';

function workspace(files: Record<string, string> = {}, naming: string[] = []): WorkspaceHost {
  return {
    fileExists: (f) => f in files,
    readText: (f) => files[f],
    pipelinesNamingCard: () => naming,
  };
}

function complete(marked: string, host: WorkspaceHost = workspace()) {
  const { text, offset } = cursor(marked);
  const doc = modelCardService.parse(file, text);
  return { text, items: modelCardService.completions(doc, offset, host) };
}

test('completion: top-level front-matter keys with docs, minus the keys already written', () => {
  const { text, items } = complete('---\nlicense: mit\nlib|\n---\n');
  const labels = items.map((i) => i.label);
  assert.ok(labels.includes('library_name'));
  assert.ok(labels.includes('model-index'));
  assert.ok(labels.includes('cairn'));
  assert.ok(!labels.includes('license'));
  const lib = items.find((i) => i.label === 'library_name');
  assert.ok(lib?.documentation?.includes('library'));
  assert.deepEqual(lib?.replace, { start: text.indexOf('lib'), end: text.indexOf('lib') + 3 });
});

test('completion: license ids after `license:`, with their full names', () => {
  const { text, items } = complete('---\nlicense: cc-|\n---\n');
  const cc = items.find((i) => i.label === 'cc-by-4.0');
  assert.equal(cc?.kind, 'license');
  assert.equal(cc?.documentation, 'Creative Commons Attribution 4.0');
  assert.deepEqual(cc?.replace, { start: text.indexOf('cc-'), end: text.indexOf('cc-') + 3 });
  assert.ok(items.some((i) => i.label === 'Apache-2.0' || i.label === 'apache-2.0'));
});

test('completion: pipeline_tag values, cairn keys, model-index keys and metric names', () => {
  assert.ok(complete('---\npipeline_tag: |\n---\n').items.some((i) => i.label === 'tabular-classification'));
  assert.deepEqual(
    complete('---\ncairn:\n  |\n---\n').items.map((i) => i.label),
    ['pipeline', 'model', 'personal_data'],
  );
  assert.deepEqual(
    complete('---\ncairn:\n  personal_data: |\n---\n').items.map((i) => i.label),
    ['true', 'false'],
  );
  const mi =
    '---\nmodel-index:\n- name: m\n  results:\n  - task:\n      type: tabular-classification\n    dataset:\n      |\n---\n';
  assert.ok(
    complete(mi)
      .items.map((i) => i.label)
      .includes('split'),
  );
  const metric = '---\nmodel-index:\n- name: m\n  results:\n  - metrics:\n    - type: roc|\n---\n';
  assert.ok(complete(metric).items.some((i) => i.label === 'roc_auc' && i.kind === 'metric'));
  // Cairn's own evaluator metrics (from the built-in catalogue) are offered too.
  assert.ok(complete('---\nmetrics:\n- |\n---\n').items.some((i) => i.label === 'ndcg@k'));
});

test('completion: section headings after `#`, missing sections first', () => {
  const { items } = complete('---\nlicense: mit\n---\n# M\n\n## Model Details\n\nx\n\n## |\n');
  const first = items[0];
  assert.ok(first !== undefined);
  const sorted = [...items].sort((a, b) => (a.sortText ?? '').localeCompare(b.sortText ?? ''));
  assert.equal(sorted[0]?.label, 'Intended Use');
  assert.equal(sorted[sorted.length - 1]?.label, 'Model Details');
  assert.equal(items.find((i) => i.label === 'Factors')?.kind, 'section');
  // Nothing to complete in plain prose.
  assert.deepEqual(complete('# M\n\nsome te|xt\n').items, []);
});

test('hover: key docs, license names and section purposes', () => {
  const at = (marked: string) => {
    const { text, offset } = cursor(marked);
    return modelCardService.hover(modelCardService.parse(file, text), offset, workspace());
  };
  assert.match(at('---\nlice|nse: mit\n---\n')?.contents ?? '', /License id/);
  assert.match(at('---\nlicense: apache|-2.0\n---\n')?.contents ?? '', /Apache license 2\.0/);
  assert.match(at('---\ncairn:\n  personal_d|ata: true\n---\n')?.contents ?? '', /Privacy section/);
  const h = at('# M\n\n## Bias, Risks, and Limi|tations\n\nText.\n');
  assert.match(h?.contents ?? '', /Ethical Considerations/);
  assert.match(h?.contents ?? '', /Caveats and Recommendations/);
  assert.equal(at('# M\n\nplain te|xt\n'), undefined);
});

test('definition: cairn.pipeline goes to the pipeline file; dependencies list it', () => {
  const { text, offset } = cursor('---\ncairn:\n  pipeline: ../cai|rn.yaml\n---\n');
  const host = workspace({ '/ws/cairn.yaml': 'version: 1\n' }, ['/ws/other.cairn.yaml']);
  const doc = modelCardService.parse(file, text);
  assert.deepEqual(modelCardService.definition(doc, offset, host), [
    { file: '/ws/cairn.yaml', span: { start: 0, end: 0 } },
  ]);
  assert.deepEqual(modelCardService.definition(doc, 3, host), []);
  assert.deepEqual(modelCardService.dependencies(doc, host), ['/ws/other.cairn.yaml', '/ws/cairn.yaml']);
});

test('diagnostics through the service: a linked pipeline with pii columns requires a privacy section', () => {
  const text = '---\ncairn:\n  pipeline: ./cairn.yaml\n---\n# M\n';
  const pipeline =
    'version: 1\ndata:\n  customers:\n    path: data/c.csv\n    schema:\n      email: {type: string, pii: true}\n';
  const doc = modelCardService.parse(file, text);
  const codes = (host: WorkspaceHost) => modelCardService.diagnostics(doc, host).map((d) => d.code);
  assert.ok(codes(workspace({ '/ws/cards/cairn.yaml': pipeline })).includes('card/personal-data-without-privacy'));
  assert.ok(
    !codes(workspace({ '/ws/cards/cairn.yaml': pipeline.replace('pii: true', 'pii: false') })).includes(
      'card/personal-data-without-privacy',
    ),
  );
});

test('symbols: front matter keys and the heading outline, nested by level', () => {
  const text =
    '---\nlicense: mit\ntags: [a]\n---\n# Card\n\n## Uses\n\nx\n\n### Direct Use\n\ny\n\n## Training Data\n\nz\n';
  const symbols = modelCardService.symbols(modelCardService.parse(file, text));
  assert.deepEqual(
    symbols.map((s) => [s.name, s.children.map((c) => [c.name, c.children.map((g) => g.name)])]),
    [
      [
        'Front matter',
        [
          ['license', []],
          ['tags', []],
        ],
      ],
      [
        'Card',
        [
          ['Uses', ['Direct Use']],
          ['Training Data', []],
        ],
      ],
    ],
  );
  const uses = symbols[1]?.children[0];
  assert.equal(uses?.detail, 'Intended Use');
  assert.deepEqual(uses?.selectionSpan, { start: text.indexOf('Uses'), end: text.indexOf('Uses') + 4 });
});

test('rename is refused with a reason; references are empty', () => {
  const doc = modelCardService.parse(file, '# M\n');
  assert.equal(modelCardService.prepareRename(doc, 2), undefined);
  assert.ok('error' in modelCardService.rename(doc, 2, 'x', workspace()));
  assert.deepEqual(modelCardService.references(doc, 2, workspace(), true), []);
});
