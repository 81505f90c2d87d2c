import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { bindLanguage } from '../../../language-server/src/handlers/languages.js';
import { pipelineService } from '../../../language-server/src/services/pipeline/index.js';
import type { LanguageService } from '../../../language-server/src/services/types.js';

/** The pipeline service, counting the parses it is asked for and what each was handed as `previous`. */
function counted() {
  const calls: Array<{ text: string; previous: boolean }> = [];
  const service: LanguageService<unknown> = {
    ...(pipelineService as LanguageService<unknown>),
    parse: (file, text, previous) => {
      calls.push({ text, previous: previous !== undefined });
      return (pipelineService as LanguageService<unknown>).parse(file, text, previous);
    },
  };
  return { calls, language: bindLanguage('pipeline', service, () => undefined) };
}

const file = '/ws/cairn.yaml';
const text = 'version: 1\nname: p\nsteps:\n  a:\n    run: echo hi\n';
const host = { fileExists: () => true } as never;

test('an opened document reuses the parse the start-up scan made of its file; an edit starts from it', () => {
  const { calls, language } = counted();
  language.cardsNamed({ key: file, file, text }, host); // the scan: keyed by the path
  const uri = 'file:///ws/cairn.yaml';
  const opened = language.diagnostics({ key: uri, file, text }, host);
  assert.equal(calls.length, 1, 'the same text was parsed again on open');
  assert.deepEqual(opened, []);
  language.diagnostics({ key: uri, file, text: text + '  b:\n    run: echo b\n' }, host);
  assert.equal(calls.length, 2);
  assert.equal(calls[1]?.previous, true, 'the edit did not start from the shared parse');
});

test('an opened document whose buffer differs from the disk is parsed from it, not handed the disk parse', () => {
  const { calls, language } = counted();
  language.cardsNamed({ key: file, file, text }, host);
  const buffer = text.replace('echo hi', 'echo ${params.nope}');
  const found = language.diagnostics({ key: 'file:///ws/cairn.yaml', file, text: buffer }, host);
  assert.equal(calls.length, 2);
  assert.ok(
    found.some((d) => d.code === 'unknown-param'),
    'the buffer, not the disk text, was checked',
  );
});
