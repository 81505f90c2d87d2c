import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { abSplitArms, checkPipeline, PipelineCode, Severity, type CairnDiagnostic } from '@cairn/protocol';
import { parse } from './helpers.js';

// `deploy.ab.split` is checked by the language itself (editor, `cairn validate`, the loader of `cairn run`/`serve`):
// two aliases, one of them champion or challenger, shares adding up to 1. `abSplitArms` is the one rule.

function withSplit(split: string): string {
  return `version: 1
steps:
  train:
    run: python train.py
    outputs: { model: out/model.onnx }
deploy:
  model: \${steps.train.outputs.model}
  ab:
    split: ${split}
    key: userId
`;
}

/** The ab-split findings of `text`, as `line:col-line:col message` (0-based), and the findings themselves. */
function abFindings(text: string): { at: string[]; diagnostics: CairnDiagnostic[] } {
  const doc = parse(text);
  const all = checkPipeline(doc, { fileExists: () => true });
  const diagnostics = all.filter((d) => d.code === PipelineCode.abSplit);
  const at = diagnostics.map((d) => {
    const r = doc.lines.rangeOf(d.span);
    return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character} ${d.message}`;
  });
  return { at, diagnostics };
}

test('a split naming champion and challenger that adds up to 1 passes, in flow or block style', () => {
  assert.deepEqual(abFindings(withSplit('{ champion: 0.9, challenger: 0.1 }')).at, []);
  assert.deepEqual(abFindings(withSplit('\n      champion: 0.7\n      staging: 0.3')).at, []);
  assert.deepEqual(
    checkPipeline(parse(withSplit('{ champion: 0.8, challenger: 0.2 }')), { fileExists: () => true }),
    [],
  );
});

test('shares adding up to 1.1: an error on the split, on its line, saying what to write, with a fix that clears it', () => {
  const text = withSplit('{ champion: 0.9, challenger: 0.2 }');
  const { at, diagnostics } = abFindings(text);
  assert.deepEqual(at, [
    '8:11-8:45 deploy.ab.split shares add up to 1.1, not 1: they are shares of all traffic; write challenger: 0.1 (with champion: 0.9)',
  ]);
  const d = diagnostics[0];
  assert.equal(d?.severity, Severity.Error);
  const fix = d?.fixes?.[0];
  assert.ok(fix?.isPreferred);
  assert.equal(fix.title, 'Set challenger to 0.1 so the shares add up to 1');
  const fixed = text.slice(0, fix.span.start) + fix.newText + text.slice(fix.span.end);
  assert.equal(fixed, withSplit('{ champion: 0.9, challenger: 0.1 }'));
  assert.deepEqual(abFindings(fixed).at, []);
});

test('three aliases: an error at the alias that is neither champion nor challenger', () => {
  const { at } = abFindings(withSplit('\n      champion: 0.5\n      challenger: 0.3\n      shadow: 0.2'));
  assert.equal(at.length, 1, at.join('\n'));
  assert.match(
    at[0] ?? '',
    /^11:6-11:12 deploy\.ab\.split names champion, challenger, shadow: .*two aliases, one of them champion or challenger \(e\.g\. \{ champion: 0\.9, challenger: 0\.1 \}\)$/,
  );
});

test('two aliases, neither champion nor challenger: an error on the split', () => {
  const { at } = abFindings(withSplit('{ production: 0.5, staging: 0.5 }'));
  assert.equal(at.length, 1, at.join('\n'));
  assert.match(
    at[0] ?? '',
    /^8:11-8:44 deploy\.ab\.split names production, staging: .*one of them champion or challenger/,
  );
});

test('a split the schema already refuses (a share above 1, a string) gets no ab-split finding on top', () => {
  const above = checkPipeline(parse(withSplit('{ champion: 1.5, challenger: 0.1 }')), { fileExists: () => true });
  assert.deepEqual(
    above.map((d) => d.code),
    [PipelineCode.invalidValue],
  );
  const text = checkPipeline(parse(withSplit('{ champion: "0.9", challenger: 0.1 }')), { fileExists: () => true });
  assert.deepEqual(
    text.map((d) => d.code),
    [PipelineCode.wrongType],
  );
});

test('abSplitArms maps a resolved split to its arms: the alias beside champion (or challenger) is the other arm', () => {
  const none = { start: 0, end: 0 };
  assert.deepEqual(abSplitArms({ champion: 0.9, challenger: 0.1 }, undefined, none), {
    arms: { champion: 'champion', challenger: 'challenger', share: 0.1 },
  });
  assert.deepEqual(abSplitArms({ champion: 0.9, staging: 0.1 }, undefined, none), {
    arms: { champion: 'champion', challenger: 'staging', share: 0.1 },
  });
  assert.deepEqual(abSplitArms({ production: 0.75, challenger: 0.25 }, undefined, none), {
    arms: { champion: 'production', challenger: 'challenger', share: 0.25 },
  });
  // Within 1e-9 of 1 is 1 (shares written as decimals rarely add up exactly).
  assert.ok('arms' in abSplitArms({ champion: 0.7, challenger: 0.1 + 0.2 }, undefined, none));
  const one = abSplitArms({ champion: 1 }, undefined, { start: 3, end: 9 });
  assert.ok('problems' in one);
  assert.deepEqual(
    one.problems.map((p) => [p.code, p.span]),
    [[PipelineCode.abSplit, { start: 3, end: 9 }]],
  );
  const empty = abSplitArms({}, undefined, none);
  assert.ok('problems' in empty);
  assert.deepEqual(
    empty.problems.map((p) => p.message.split(':')[0]),
    ['deploy.ab.split names no alias', 'deploy.ab.split shares add up to 0, not 1'],
  );
});
