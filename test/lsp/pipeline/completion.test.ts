import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { at, pipeline, reset, session, uri, usePipelineSession } from './session.js';

usePipelineSession();

describe('completion through the language server', () => {
  test('completion offers built-in names, param references and step keys', async () => {
    const builtinItems = await session.completion(uri, at(pipeline, 'data.split', 0));
    assert.ok(
      builtinItems.some((i) => i.label === 'train.mlp'),
      `built-ins: ${builtinItems
        .map((i) => i.label)
        .slice(0, 8)
        .join(', ')}`,
    );
    const withParam = pipeline.replace('      target: churned\n      lr:', '      target: ${params.}\n      lr:');
    await session.change(uri, [{ text: withParam }]);
    const paramItems = await session.completion(uri, at(withParam, '${params.}', '${params.'.length));
    assert.deepEqual(
      paramItems
        .map((i) => i.label)
        .filter((l) => l === 'lr' || l === 'epochs')
        .sort(),
      ['epochs', 'lr'],
    );
    const withKey = pipeline.replace('    gate:', '    \n    gate:');
    await session.change(uri, [{ text: withKey }]);
    const keyItems = await session.completion(uri, at(withKey, '    \n    gate:', 4));
    assert.ok(
      keyItems.some((i) => i.label === 'needs'),
      `step keys: ${keyItems.map((i) => i.label).join(', ')}`,
    );
    await reset();
  });
});
