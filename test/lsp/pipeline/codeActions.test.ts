import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CodeActionKind } from 'vscode-languageserver/node';
import { applyEdits, messageOf } from '../helpers/lspClient.js';
import { at, pipeline, reset, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('quick fixes through the language server', () => {
  test('a did-you-mean finding has its exact range, and its preferred quick fix clears it', async () => {
    const broken = pipeline.replace('    gate:', '    gates:');
    const p = await session.change(uri, [{ text: broken }]);
    const d = p.diagnostics.find((x) => x.code === 'unknown-key');
    assert.ok(d, `unknown-key reported; got ${p.diagnostics.map((x) => String(x.code)).join(', ')}`);
    assert.deepEqual(d.range, { start: at(broken, 'gates:'), end: at(broken, 'gates:', 5) });
    assert.match(messageOf(d), /gate/);
    const actions = await session.codeActions(uri, d.range, [d]);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, `one preferred fix; got ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(preferred[0]?.kind, CodeActionKind.QuickFix);
    const fixed = applyEdits(broken, preferred[0]?.edit?.changes?.[uri] ?? []);
    assert.equal(fixed, pipeline);
    assert.deepEqual((await session.change(uri, [{ text: fixed }])).diagnostics, []);
  });

  test('a deploy.ab.split whose shares do not add up to 1 is underlined on the split; its quick fix sets the challenger share', async () => {
    const good = `${pipeline}  ab:\n    split: { champion: 0.9, challenger: 0.1 }\n`;
    const broken = good.replace('challenger: 0.1', 'challenger: 0.2');
    const p = await session.change(uri, [{ text: broken }]);
    assert.deepEqual(
      p.diagnostics.map((x) => String(x.code)),
      ['ab-split'],
    );
    const d = p.diagnostics[0];
    assert.ok(d);
    assert.deepEqual(d.range, { start: at(broken, '{ champion'), end: at(broken, '0.2 }', 5) });
    assert.match(messageOf(d), /^deploy\.ab\.split shares add up to 1\.1, not 1: .*write challenger: 0\.1/);
    const actions = await session.codeActions(uri, d.range, [d]);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, `one preferred fix; got ${actions.map((a) => a.title).join(' | ')}`);
    assert.equal(applyEdits(broken, preferred[0]?.edit?.changes?.[uri] ?? []), good);
    assert.deepEqual((await session.change(uri, [{ text: good }])).diagnostics, []);
    await reset();
  });
});
