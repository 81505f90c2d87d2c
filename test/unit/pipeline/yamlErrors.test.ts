import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { checkPipeline, parsePipeline, PipelineCode, type CairnDiagnostic } from '@cairn/protocol';

// YAML errors in the user's terms: the sentence says what to do, the range is exact, a quick fix quotes the value
// where that is the obvious repair (and the fixed text then has no YAML error left).

const host = { fileExists: () => true };
const step = (body: string) => `version: 1\nsteps:\n  a:\n${body}`;

interface Case {
  name: string;
  text: string;
  message: RegExp;
  /** The text under the diagnostic's range. */
  range: string;
  /** The preferred fix's new text, when there is one. */
  fix?: string;
}

const cases: Case[] = [
  {
    name: '${…} in a flow mapping',
    text: step('    uses: data.split\n    with: { input: ${data.d}, test_fraction: 0.2 }\n'),
    message: /^A value that starts with `\$\{` must be quoted here: write "\$\{data\.d\}"\.$/,
    range: '${data.d}',
    fix: '"${data.d}"',
  },
  {
    name: '${…} in a flow sequence',
    text: step('    run: echo\n    deps: [${params.p}/a.csv, b.csv]\n'),
    message: /must be quoted here: write "\$\{params\.p\}\/a\.csv"/,
    range: '${params.p}/a.csv',
    fix: '"${params.p}/a.csv"',
  },
  {
    name: 'a value starting with @',
    text: step('    run: @make all # build\n'),
    message: /can't start with the reserved character `@`: quote it, write "@make all"/,
    range: '@make all',
    fix: '"@make all"',
  },
  {
    name: 'a value starting with a backtick',
    text: step('    run: `make`\n'),
    message: /can't start with a backtick/,
    range: '`make`',
    fix: '"`make`"',
  },
  {
    name: 'a value starting with %',
    text: step('    run: %x\n'),
    message: /directive sign `%`/,
    range: '%x',
    fix: '"%x"',
  },
  {
    name: 'a value starting with | and text',
    text: step('    run: |x\n'),
    message: /^`\|` starts a block of text on the following lines/,
    range: '|x',
    fix: '"|x"',
  },
  {
    name: 'an unknown alias',
    text: step('    run: *x\n'),
    message: /^Unknown alias \*x: .*quote the value if it is text: "\*x"\.$/,
    range: '*x',
    fix: '"*x"',
  },
  {
    name: 'a colon and space inside a value',
    text: step('    run: echo a: b\n'),
    message: /can't hold `: ` unquoted.*write "echo a: b"/,
    range: 'echo a: b',
    fix: '"echo a: b"',
  },
  {
    name: 'a tab in the indentation',
    text: 'version: 1\nsteps:\n\ta:\n    run: x\n',
    message: /^Tabs can't indent YAML; use spaces\.$/,
    range: '\t',
  },
  {
    name: 'a key out of line',
    text: step('      run: x\n    deps: []\n'),
    message: /^The keys of one mapping start at the same column/,
    range: 'deps',
  },
  {
    name: 'a line without a colon',
    text: 'version: 1\nsteps:\n  a\n  b:\n    run: x\n',
    message: /^This line is not `key: value`/,
    range: 'a',
  },
  {
    name: 'an unclosed double quote',
    text: step('    run: "echo\n'),
    message: /^This "quoted value is never closed: add the closing `"`\.$/,
    range: '"echo',
  },
  {
    name: 'an unclosed flow mapping',
    text: step('    run: x\n    env: { A: b\n'),
    message: /^This `\{` opens a mapping that is never closed/,
    range: '{',
  },
  {
    name: 'an unclosed flow sequence',
    text: step('    run: x\n    deps: [a, b\n'),
    message: /^This `\[` opens a list that is never closed/,
    range: '[',
  },
  {
    name: 'a mapping inside a flow mapping',
    text: step('    run: x\n    env: { A: b: c }\n'),
    message: /^Inside `\[ \]` or `\{ \}` a nested mapping needs braces of its own/,
    range: 'b: c',
  },
  { name: 'a bad escape', text: step('    run: "a\\qb"\n'), message: /^`\\q` is not an escape/, range: '\\' },
  { name: 'two commas', text: step('    run: x\n    deps: [a,,b]\n'), message: /^An extra `,`/, range: ',' },
  {
    name: 'a stray closing bracket',
    text: step('    run: x\n    deps: ]\n'),
    message: /^A `\]` without its `\[`/,
    range: ']',
  },
  {
    name: 'text after a quoted value',
    text: step('    run: "x" y\n'),
    message: /^Text after the end of a value/,
    range: 'y',
  },
  { name: 'two anchors', text: step('    run: &a &b x\n'), message: /^A value has two anchors/, range: '&b' },
];

function yamlFindings(text: string): CairnDiagnostic[] {
  return checkPipeline(parsePipeline('y.cairn.yaml', text), host).filter((d) => d.code === PipelineCode.yamlSyntax);
}

for (const c of cases) {
  test(`YAML error in the user's terms: ${c.name}`, () => {
    const found = yamlFindings(c.text);
    assert.equal(found.length, 1, `one finding: ${found.map((d) => d.message).join(' | ')}`);
    const d = found[0];
    assert.ok(d);
    assert.match(d.message, c.message);
    assert.equal(c.text.slice(d.span.start, d.span.end), c.range);
    const fix = d.fixes?.find((f) => f.isPreferred);
    assert.equal(fix?.newText, c.fix);
    if (fix) {
      const fixed = c.text.slice(0, fix.span.start) + fix.newText + c.text.slice(fix.span.end);
      assert.deepEqual(yamlFindings(fixed), [], `the fix leaves no YAML error: ${fixed}`);
    }
  });
}

test('a duplicate key says which one counts and what to do', () => {
  const text = step('    run: x\n    run: y\n');
  const d = checkPipeline(parsePipeline('y.cairn.yaml', text), host).find((x) => x.code === PipelineCode.duplicateKey);
  assert.match(
    d?.message ?? '',
    /^Duplicate key 'run': it is already defined above and only the first one counts; remove or rename one\.$/,
  );
  assert.equal(text.slice(d?.span.start, d?.span.end), 'run');
  assert.equal(d?.span.start, text.lastIndexOf('run'));
});

test('deep nesting is one finding in our words, whatever the form, never the engine message', () => {
  const forms = {
    brackets: `version: 1\nsteps: {}\nx: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    unclosed: `version: 1\nsteps: {}\nx: ${'['.repeat(20_000)}\n`,
    maps: `version: 1\nsteps: {}\nx: ${'{a: '.repeat(5000)}1${'}'.repeat(5000)}\n`,
    dashes: `version: 1\nsteps: {}\nx:\n${'- '.repeat(20_000)}a\n`,
    indentation: `version: 1\nsteps: {}\n${Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')}\n`,
    inAStep: step(`    run: x\n    env: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`),
  };
  for (const [form, text] of Object.entries(forms)) {
    for (const doc of [
      parsePipeline('d.cairn.yaml', text),
      parsePipeline('d.cairn.yaml', text, undefined, { full: true }),
    ]) {
      const all = checkPipeline(doc, host);
      assert.deepEqual(
        all.map((d) => d.code),
        [PipelineCode.yamlSyntax],
        `${form} (${doc.mode}): ${all.map((d) => d.message).join(' | ')}`,
      );
      assert.match(all[0]?.message ?? '', /^Nesting deeper than 100 levels: a pipeline is never this deep/);
      assert.doesNotMatch(all[0]?.message ?? '', /call stack/i);
    }
  }
});

test('nesting a pipeline really uses (a few levels, long lists, block text) is not mistaken for deep', () => {
  const lines = [
    'version: 1',
    'steps:',
    '  a:',
    '    run: |',
    ...Array.from({ length: 150 }, (_, i) => `      ${' '.repeat(i % 40)}[{ line ${i}`),
    '    env: { A: "[[[[", B: \'{{{{\' }',
    '    deps:',
  ];
  for (let i = 0; i < 300; i++) lines.push(`      - f${i}.csv`);
  assert.deepEqual(yamlFindings(lines.join('\n') + '\n'), []);
});
