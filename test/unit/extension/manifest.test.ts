import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Commands } from '../../../extension/src/commands/ids.js';

/** package.json's contributions for the runtime features agree with the code and the files they name. */
const root = path.resolve(__dirname, '..', '..', '..');
interface Manifest {
  capabilities?: { untrustedWorkspaces?: { supported?: string; restrictedConfigurations?: string[] } };
  contributes: {
    commands: Array<{ command: string; category?: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    walkthroughs: Array<{
      id: string;
      steps: Array<{ id: string; media: { markdown?: string }; completionEvents: string[] }>;
    }>;
    viewsContainers: { activitybar: Array<{ id: string; icon: string }> };
  };
}
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const commandIds = new Set(manifest.contributes.commands.map((c) => c.command));
const source = ['commands/ids.ts', 'walkthrough/walkthroughProgress.ts', 'extension.ts']
  .map((f) => fs.readFileSync(path.join(root, 'extension', 'src', f), 'utf8'))
  .join('\n');

test('every menu entry names a contributed command, and the ids module is exactly the contributed commands', () => {
  for (const [where, entries] of Object.entries(manifest.contributes.menus)) {
    for (const e of entries) assert.ok(commandIds.has(e.command), `${where}: ${e.command} is not contributed`);
  }
  const inCode = Object.values(Commands);
  assert.equal(new Set(inCode).size, inCode.length, 'no id appears twice in extension/src/commands/ids.ts');
  const same = 'extension/src/commands/ids.ts and package.json contributes.commands list the same ids';
  assert.deepEqual([...inCode].sort(), [...commandIds].sort(), same);
});

test('no command id is spelled outside the ids module (and package.json)', () => {
  const dir = path.join(root, 'extension', 'src');
  const files = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && f !== path.join('commands', 'ids.ts'));
  assert.ok(files.length > 20, `extension sources found: ${files.length}`);
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const id of commandIds) {
      assert.ok(!text.includes(`'${id}'`), `${f} spells '${id}': use Commands from commands/ids.ts`);
    }
  }
});

test('the walkthrough: media files exist, steps complete on contributed commands or on context keys the code sets', () => {
  const [walkthrough] = manifest.contributes.walkthroughs;
  assert.ok(walkthrough);
  assert.deepEqual(
    walkthrough.steps.map((s) => s.id),
    ['open', 'fix', 'run', 'compare', 'lineage', 'drift', 'deploy'],
  );
  for (const step of walkthrough.steps) {
    assert.ok(
      step.media.markdown && fs.existsSync(path.join(root, step.media.markdown)),
      `${step.id}: media ${step.media.markdown}`,
    );
    assert.ok(step.completionEvents.length > 0, `${step.id} has a completion event`);
    for (const event of step.completionEvents) {
      const [kind, name = ''] = event.split(':', 2) as [string, string | undefined];
      if (kind === 'onCommand') assert.ok(commandIds.has(name), `${step.id}: ${name} is a contributed command`);
      else if (kind === 'onContext') assert.ok(source.includes(`'${name}'`), `${step.id}: the code sets ${name}`);
      else assert.fail(`${step.id}: unexpected completion event ${event}`);
    }
  }
});

test('restricted mode: limited support, the node path cannot come from an untrusted workspace, icon exists', () => {
  assert.equal(manifest.capabilities?.untrustedWorkspaces?.supported, 'limited');
  assert.deepEqual(manifest.capabilities?.untrustedWorkspaces?.restrictedConfigurations, ['cairn.runtime.nodePath']);
  const container = manifest.contributes.viewsContainers.activitybar.find((c) => c.id === 'cairn');
  assert.ok(container && fs.existsSync(path.join(root, container.icon)));
});
