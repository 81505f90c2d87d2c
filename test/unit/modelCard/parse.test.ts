import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LineIndex,
  Severity,
  classifyContent,
  isModelCardFile,
  isKnownLicense,
  modelCardTemplate,
  normalizeHeading,
  parseModelCard,
  sectionTemplate,
  sectionsOfHeading,
} from '@cairn/protocol';
import { applyFix, check, describe, hostWith } from './helpers.js';

test('isModelCardFile recognises MODEL_CARD.md and *.modelcard.md only', () => {
  assert.ok(isModelCardFile('/a/MODEL_CARD.md'));
  assert.ok(isModelCardFile('C:\\w\\churn.modelcard.md'));
  assert.ok(isModelCardFile('x/Churn.ModelCard.md'));
  assert.ok(!isModelCardFile('/a/README.md'));
  assert.ok(!isModelCardFile('/a/model_card.md.bak'));
});

test('front matter: exact offsets, after a BOM, with CRLF', () => {
  const text = '\uFEFF---\r\nlicense: mit\r\n---\r\n# Title\r\n';
  const card = parseModelCard('/w/MODEL_CARD.md', text);
  assert.deepEqual(card.frontMatter?.span, { start: 1, end: 23 });
  assert.deepEqual(card.frontMatter?.contentSpan, { start: 6, end: 20 });
  assert.equal(card.frontMatter?.entries[0]?.key, 'license');
  assert.deepEqual(card.metadata.licenses[0]?.span, { start: 15, end: 18 });
  assert.equal(card.headings[0]?.title, 'Title');
  assert.deepEqual(card.headings[0]?.titleSpan, { start: 27, end: 32 });
});

test('headings: ATX and setext, not inside code fences or HTML comments; levels and section spans', () => {
  const text = [
    '# Title #', // 0
    '', // 1
    'Setext one', // 2
    '==========', // 3
    'para', // 4
    '', // 5
    'Two', // 6
    '---', // 7
    '```', // 8
    '# not a heading', // 9
    '```', // 10
    '~~~~', // 11
    '## nor this', // 12
    '```', // 13
    '~~~~', // 14
    '<!-- start', // 15
    '## hidden', // 16
    '-->', // 17
    '- item', // 18
    '---', // 19: after a list item: a thematic break, not a heading
    '    # indented code', // 20
    '#no-space', // 21
    '###### Six', // 22
  ].join('\n');
  const card = parseModelCard('/w/MODEL_CARD.md', text);
  assert.deepEqual(
    card.headings.map((h) => [h.level, h.kind, h.title]),
    [
      [1, 'atx', 'Title'],
      [1, 'setext', 'Setext one'],
      [2, 'setext', 'Two'],
      [6, 'atx', 'Six'],
    ],
  );
  const idx = new LineIndex(text);
  const title = card.headings[0];
  assert.ok(title !== undefined);
  assert.deepEqual(idx.rangeOf(title.titleSpan), { start: { line: 0, character: 2 }, end: { line: 0, character: 7 } });
  // "Title" ends where the next level-1 heading starts.
  assert.equal(title.contentSpan.end, idx.offsetAt({ line: 2, character: 0 }));
  const two = card.headings[2];
  assert.ok(two !== undefined);
  assert.deepEqual(idx.rangeOf(two.span), { start: { line: 6, character: 0 }, end: { line: 7, character: 3 } });
  assert.equal(two.contentSpan.end, text.length);
});

test('content classification: empty, placeholder-only, text', () => {
  const c = (s: string) => classifyContent(s, 0, s.length);
  assert.equal(c('\n\n  \n'), 'empty');
  assert.equal(c('[More Information Needed]'), 'placeholder');
  assert.equal(c('More information needed'), 'placeholder');
  assert.equal(c('{{ direct_use | default("[More Information Needed]", true)}}'), 'placeholder');
  assert.equal(c('<!-- Provide a longer summary. -->\n\n<!-- spanning\nlines -->'), 'placeholder');
  assert.equal(c('TODO'), 'placeholder');
  assert.equal(c('- TBD'), 'placeholder');
  assert.equal(c('N/A.'), 'placeholder');
  assert.equal(c('- **Developed by:** [More Information Needed]\n- **Model type:** {{ model_type }}'), 'placeholder');
  assert.equal(c('- **Developed by:** \n- **License:**'), 'placeholder');
  assert.equal(c('<!-- note -->\nThe model predicts churn.'), 'text');
  assert.equal(c('TODO: write the limitations of the model on small tenure bands'), 'text');
  assert.equal(c('| a | b |\n|---|---|\n| 1 | 2 |'), 'text');
});

test('heading matching is case-insensitive and tolerant of numbering, colons, emphasis and [optional]', () => {
  assert.equal(normalizeHeading('2.1. **Intended Use:**'), 'intended use');
  assert.equal(normalizeHeading('Bias, Risks, & Limitations'), 'bias risks and limitations');
  assert.equal(normalizeHeading('Model Examination [optional]'), 'model examination');
  assert.deepEqual(sectionsOfHeading('Uses'), ['intendedUse']);
  assert.deepEqual(sectionsOfHeading('direct use'), ['intendedUse']);
  assert.deepEqual(sectionsOfHeading('Bias, Risks, and Limitations'), [
    'ethicalConsiderations',
    'caveatsAndRecommendations',
  ]);
  assert.deepEqual(sectionsOfHeading('Training Details'), ['trainingData']);
  assert.deepEqual(sectionsOfHeading('Evaluation'), ['metrics', 'evaluationData', 'quantitativeAnalyses']);
  assert.deepEqual(sectionsOfHeading('Testing Data, Factors & Metrics'), ['factors', 'metrics', 'evaluationData']);
  assert.deepEqual(sectionsOfHeading('Model Description'), ['modelDetails']);
  assert.deepEqual(sectionsOfHeading('IV. _Ethical considerations_'), ['ethicalConsiderations']);
  assert.deepEqual(sectionsOfHeading('Privacy & Data Protection'), ['privacy']);
  assert.deepEqual(sectionsOfHeading('Training hyperparameters'), []);
  assert.deepEqual(sectionsOfHeading('How to use'), []);
});

test('licenses: Hub ids and SPDX ids (any case) are known; typos get did-you-mean fixes', () => {
  for (const id of [
    'apache-2.0',
    'mit',
    'openrail',
    'bigscience-openrail-m',
    'creativeml-openrail-m',
    'cc-by-4.0',
    'cc-by-nc-4.0',
    'llama2',
    'llama3',
    'gemma',
    'other',
    'Apache-2.0',
    'GPL-3.0-only',
    'bsd-3-clause',
    'MIT',
  ]) {
    assert.ok(isKnownLicense(id), id);
  }
  assert.ok(!isKnownLicense('apache'));
  const text = '---\nlicense: apache2.0\n---\n';
  const d = check(text).find((x) => x.code === 'card/unknown-license');
  assert.ok(d !== undefined);
  assert.equal(d.severity, Severity.Error);
  assert.match(d.message, /'apache-2\.0'/);
  const fix = d.fixes?.[0];
  assert.ok(fix !== undefined);
  assert.equal(applyFix(text, fix), '---\nlicense: apache-2.0\n---\n');
});

test('license: other without license_name: a warning whose fix adds license_name and license_link', () => {
  const text = '---\nlicense: other\ntags: [x]\n---\n';
  const d = check(text).find((x) => x.code === 'card/license-name-missing');
  assert.ok(d?.fixes?.[0] !== undefined);
  assert.equal(d.severity, Severity.Warning);
  const fixed = applyFix(text, d.fixes[0]);
  assert.equal(fixed, '---\nlicense: other\nlicense_name: my-license\nlicense_link: LICENSE\ntags: [x]\n---\n');
  assert.ok(!check(fixed).some((x) => x.code === 'card/license-name-missing'));
});

test("model-index fixes insert the missing field at the mapping's indentation", () => {
  const text = [
    '---',
    'model-index:',
    '- name: m',
    '  results:',
    '  - task:',
    '      type: tabular-classification',
    '    dataset:',
    '      type: churn  # the 2025 table',
    '    metrics:',
    '    - type: accuracy',
    '---',
    '',
  ].join('\n');
  const diags = check(text).filter((d) => d.code === 'card/model-index-missing-field');
  assert.deepEqual(
    diags.map((d) => describe(text, d)),
    ['card/model-index-missing-field 7:6-7:10', 'card/model-index-missing-field 9:6-9:10'],
  );
  let fixed = text;
  // Apply from the end so earlier offsets stay valid.
  for (const d of [...diags].reverse()) {
    const fix = d.fixes?.[0];
    assert.ok(fix !== undefined);
    fixed = applyFix(fixed, fix);
  }
  assert.match(fixed, /\n {6}type: churn {2}# the 2025 table\n {6}name: churn\n/);
  assert.match(fixed, /\n {4}- type: accuracy\n {6}value: \n/);
  // The inserted value is still empty: the finding stays until the user writes it.
  assert.deepEqual(
    check(fixed)
      .filter((d) => d.code === 'card/model-index-missing-field')
      .map((d) => describe(fixed, d)),
    ['card/model-index-missing-field 11:6-11:11'],
  );
});

test('missing-section fix inserts the template section after the section that precedes it', () => {
  const text = '# M\n\n## Model Details\n\nA model.\n\n## Factors\n\nTenure.\n';
  const d = check(text).find((x) => x.code === 'card/missing-section' && x.message.includes("'Intended Use'"));
  assert.ok(d?.fixes?.[0] !== undefined);
  assert.deepEqual(d.span, { start: 2, end: 3 });
  const fixed = applyFix(text, d.fixes[0]);
  assert.ok(
    fixed.startsWith(`# M\n\n## Model Details\n\nA model.\n\n${sectionTemplate('intendedUse', 2)}## Factors`),
    fixed,
  );
  const after = check(fixed);
  assert.ok(!after.some((x) => x.code === 'card/missing-section' && x.message.includes("'Intended Use'")));
  // The inserted template has no content yet: it is reported as placeholder-only.
  assert.ok(after.some((x) => x.code === 'card/placeholder-section' && x.message.includes("'Intended Use'")));
});

test('a card with no headings anchors section findings at its first line; an empty file does not crash', () => {
  const text = '---\nlicense: mit\n---\n\nJust prose.\n';
  const diags = check(text);
  assert.equal(diags.filter((d) => d.code === 'card/missing-section').length, 9);
  assert.ok(diags.every((d) => describe(text, d).endsWith(' 4:0-4:11')));
  assert.equal(check('').filter((d) => d.code === 'card/missing-section').length, 9);
  assert.ok(check('').every((d) => d.severity === Severity.Warning));
});

test('personal data: the privacy section satisfies it; the fix inserts one after the ethics section', () => {
  const body = '# M\n\n## Ethical Considerations\n\nSome.\n\n## Caveats\n\nSome.\n';
  const text = `---\ncairn:\n  personal_data: true\n---\n${body}`;
  const d = check(text).find((x) => x.code === 'card/personal-data-without-privacy');
  assert.ok(d?.fixes?.[0] !== undefined);
  assert.equal(d.severity, Severity.Error);
  const fixed = applyFix(text, d.fixes[0]);
  assert.match(fixed, /## Ethical Considerations\n\nSome\.\n\n## Privacy\n/);
  assert.ok(!check(fixed).some((x) => x.code === 'card/personal-data-without-privacy'));
  assert.ok(
    !check(`${text}\n## Privacy considerations\n\nIds are hashed.\n`).some(
      (x) => x.code === 'card/personal-data-without-privacy',
    ),
  );
  assert.ok(!check(text.replace('true', 'false')).some((x) => x.code === 'card/personal-data-without-privacy'));
});

test('claimed metrics: rounding and percentages match; a real difference is reported with a fix', () => {
  const card = (v: string) =>
    `---\ncairn:\n  model: churn\nmodel-index:\n- name: x\n  results:\n  - task: {type: t}\n    dataset: {type: d, name: d}\n    metrics:\n    - type: ROC-AUC\n      value: ${v}\n---\n`;
  const host = hostWith([], { trackedMetrics: (m) => (m === 'churn' ? { roc_auc: 0.8467 } : undefined) });
  const codes = (v: string) => check(card(v), host).filter((d) => d.code === 'card/metric-mismatch');
  assert.equal(codes('0.85').length, 0);
  assert.equal(codes('0.8467').length, 0);
  assert.equal(codes('84.67').length, 0);
  assert.equal(codes('"0.847"').length, 0);
  const [d] = codes('0.91');
  assert.ok(d !== undefined);
  assert.match(d.message, /0\.91.*0\.8467/);
  assert.equal(applyFix(card('0.91'), d.fixes?.[0] ?? { title: '', span: d.span, newText: '' }), card('0.8467'));
  // Without tracked metrics nothing is compared.
  assert.equal(check(card('0.1')).filter((x) => x.code === 'card/metric-mismatch').length, 0);
});

test('cairn.pipeline resolves against the card folder', () => {
  const text = '---\ncairn:\n  pipeline: ../pipelines/churn.cairn.yaml\n---\n';
  assert.equal(
    check(text, hostWith(['/ws/pipelines/churn.cairn.yaml']), '/ws/cards/MODEL_CARD.md').filter(
      (d) => d.code === 'card/pipeline-not-found',
    ).length,
    0,
  );
  const d = check(text, hostWith([]), '/ws/cards/MODEL_CARD.md').find((x) => x.code === 'card/pipeline-not-found');
  assert.match(d?.message ?? '', /\/ws\/pipelines\/churn\.cairn\.yaml/);
});

test('the template is a valid card: no errors, only placeholder warnings until filled in', () => {
  const text = modelCardTemplate('churn', { personalData: true });
  const diags = check(text, hostWith(['/ws/cairn.yaml']));
  assert.deepEqual(
    diags.filter((d) => d.severity === Severity.Error).map((d) => d.code),
    [],
  );
  assert.ok(diags.length >= 10);
  assert.ok(
    diags.every((d) => d.code === 'card/placeholder-section'),
    diags.map((d) => d.code).join(),
  );
});

test('bad front matter never throws: anchors, aliases, multi-document, tabs, binary', () => {
  for (const text of [
    '---\na: &x [*x]\n---\n',
    '---\nb: *nope\n---\n',
    '---\na: 1\n...\n---\nb: 2\n---\n',
    '---\n\tlicense: mit\n---\n',
    '---\n\u0000\u0001\uFFFD\n---\n',
    '---\n---\n',
    '---',
    '---\n:\n---\n',
  ]) {
    const diags = check(text);
    for (const d of diags)
      assert.ok(
        d.span.start >= 0 && d.span.end <= text.length && d.span.start <= d.span.end,
        `${d.code} span in bounds`,
      );
  }
  assert.deepEqual(
    check('---\n\tlicense: mit\n---\n')
      .filter((d) => d.severity === Severity.Error)
      .map((d) => d.code),
    ['card/yaml-syntax'],
  );
  const alias = '---\nlicense: *nope\n---\n';
  assert.deepEqual(
    check(alias)
      .filter((d) => d.severity === Severity.Error)
      .map((d) => describe(alias, d)),
    ['card/yaml-syntax 1:9-1:14'],
  );
});
