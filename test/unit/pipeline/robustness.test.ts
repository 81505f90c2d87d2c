import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { checkPipeline, parsePipeline, type CairnDiagnostic } from '@cairn/protocol';
import { prng } from './helpers.js';

const host = { fileExists: () => true };

/** Parses and checks; returns `code L:C-L:C` per finding (never throws, spans inside the text). */
function check(text: string): string[] {
  const doc = parsePipeline('r.cairn.yaml', text);
  const ds: CairnDiagnostic[] = checkPipeline(doc, host);
  return ds.map((d) => {
    assert.ok(
      d.span.start >= 0 && d.span.start <= d.span.end && d.span.end <= text.length,
      `span of ${d.code} inside the text`,
    );
    const r = doc.lines.rangeOf(d.span);
    return `${d.code} ${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
  });
}

const valid = 'version: 1\nsteps:\n  a:\n    run: echo ${params.n}\nparams:\n  n: 3\n';

test('empty and blank files get one clear finding', () => {
  assert.deepEqual(check(''), ['not-a-mapping 0:0-0:0']);
  assert.deepEqual(check('  \n\n   '), ['not-a-mapping 0:0-0:0']);
  assert.deepEqual(check('# just a comment\n'), ['not-a-mapping 0:0-0:0']);
});

test('binary junk is reported, not thrown', () => {
  const rand = prng(5);
  for (let n = 0; n < 20; n++) {
    const junk = Array.from({ length: 2000 }, () => String.fromCharCode(Math.floor(rand() * 256))).join('');
    assert.ok(check(junk).length > 0, 'junk gets a finding');
  }
  assert.ok(check('\u0000\u0001\u0002').length > 0);
});

test('a 5 MB file is handled (one long line; a long comment body)', () => {
  assert.deepEqual(check('x'.repeat(5_000_000)), ['not-a-mapping 0:0-0:5000000']);
  const comments = valid + ('# ' + 'x'.repeat(98) + '\n').repeat(52_000);
  assert.ok(comments.length > 5_000_000);
  assert.deepEqual(check(comments), []);
});

test('anchors and aliases are expanded; an alias bomb is cut off with a finding', () => {
  const anchors =
    'version: 1\nsteps:\n  a:\n    run: echo\n    resources: &r { cpu: 1 }\n  b:\n    run: echo\n    resources: *r\n';
  assert.deepEqual(check(anchors), []);
  assert.deepEqual(check(anchors.replace('*r', '*nope')), ['yaml-syntax 7:15-7:20']);
  const lines = ['version: 1', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 10; i++)
    lines.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill('*' + String.fromCharCode(96 + i))
        .join(',')}]`,
    );
  const bomb = check(lines.join('\n') + '\nsteps: { s: { run: echo } }\n');
  assert.deepEqual(
    bomb.map((f) => f.split(' ')[0]),
    ['yaml-syntax'],
  );
});

test('deep nesting is cut off with a finding', () => {
  const deep = check('version: 1\nsteps: ' + '['.repeat(3000) + ']'.repeat(3000) + '\n');
  assert.ok(deep.length > 0 && deep.every((f) => f.startsWith('yaml-syntax')), deep.join(', '));
});

test('multi-document YAML is one finding at the second document', () => {
  assert.deepEqual(check(valid + '---\nversion: 1\n'), ['multi-document 6:0-6:3']);
  assert.deepEqual(check('---\n' + valid + '...\n'), []);
});

test('tabs in indentation are YAML errors at the tab', () => {
  assert.deepEqual(check('version: 1\nsteps:\n\ta:\n    run: echo\n'), ['yaml-syntax 2:0-2:1']);
});

test('BOM and CRLF keep exact positions', () => {
  const bad = valid.replace('    run:', '    runn:');
  assert.deepEqual(check(bad), ['invalid-step 2:2-2:3', 'unknown-key 3:4-3:8']);
  assert.deepEqual(check('\ufeff' + bad), ['invalid-step 2:2-2:3', 'unknown-key 3:4-3:8']);
  assert.deepEqual(check(bad.replace(/\n/g, '\r\n')), ['invalid-step 2:2-2:3', 'unknown-key 3:4-3:8']);
  assert.deepEqual(check('\ufeff' + valid.replace(/\n/g, '\r\n')), []);
  // The CRLF file is still parsed block by block.
  assert.equal(parsePipeline('c.cairn.yaml', valid.replace(/\n/g, '\r\n')).mode, 'incremental');
});

test('odd keys: __proto__ stays data, numbers and nulls as keys are reported', () => {
  const proto = check('version: 1\nsteps:\n  __proto__:\n    run: echo\n');
  assert.deepEqual(proto, ['invalid-name 2:2-2:11']);
  const doc = parsePipeline('p.cairn.yaml', 'version: 1\nsteps:\n  __proto__:\n    run: echo\n');
  assert.equal(Object.getPrototypeOf((doc.value as { steps: object }).steps), Object.prototype);
  assert.ok(check('version: 1\n1: x\nsteps: {}\n').includes('unknown-key 1:0-1:1'));
});

test('numbers that are not numbers never pass as params', () => {
  assert.deepEqual(check('version: 1\nparams:\n  x: .nan\nsteps:\n  a:\n    run: echo ${params.x}\n'), [
    'param-type 2:5-2:9',
  ]);
});
