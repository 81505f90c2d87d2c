import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { GetRunRequest } from '@cairn/protocol';
import type { CairnApi, RuntimeFeatures } from '../../../extension/src/extension.js';
import type { RunResult } from '../../../extension/src/commands/runLauncher.js';
import type { ExperimentNode } from '../../../extension/src/views/experimentsView.js';
import type { PipelineNode } from '../../../extension/src/views/pipelinesView.js';

const extensionId = 'cairn-dev.cairn';

/** Resolves when `test` holds, checked on every `event` (no polling, no sleeps); rejects after `ms` with `what`. */
function when(event: vscode.Event<unknown>, test: () => boolean, what: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (test()) return resolve();
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const sub = event(() => {
      if (!test()) return;
      clearTimeout(timer);
      sub.dispose();
      resolve();
    });
  });
}

/** An open webview tab with this title. */
function webviewTab(title: string): boolean {
  return vscode.window.tabGroups.all.some((g) =>
    g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.label === title),
  );
}

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

interface PackageJson {
  capabilities?: { untrustedWorkspaces?: { supported?: unknown } };
  contributes: {
    commands: Array<{ command: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    views: Record<string, Array<{ id: string }>>;
  };
}

/** Runtime client, sidebar, commands, CodeLens and trust gating in the real VS Code, against a real runtime. */
export function defineRuntimeSuite(): void {
  suite('Cairn runtime features in a real VS Code', () => {
    let api: RuntimeFeatures;
    let tiny: vscode.Uri;
    let slow: vscode.Uri;
    let firstRun: RunResult | undefined;
    let packageJson: PackageJson;

    suiteSetup(async () => {
      const ext = vscode.extensions.getExtension<CairnApi>(extensionId);
      assert.ok(ext, `extension ${extensionId} is installed`);
      api = (await ext.activate()).runtimeFeatures;
      const folder = vscode.workspace.workspaceFolders?.[0];
      assert.ok(folder, 'a workspace folder is open');
      // The fixture pipelines join the workspace copy the harness opened (never the repository's fixture folder).
      for (const name of ['tiny.cairn.yaml', 'slow.cairn.yaml', 'drift-reference.csv', 'drift-current.csv']) {
        fs.copyFileSync(
          path.join(ext.extensionPath, 'test', 'fixtures', 'runtime', name),
          path.join(folder.uri.fsPath, name),
        );
      }
      tiny = vscode.Uri.joinPath(folder.uri, 'tiny.cairn.yaml');
      slow = vscode.Uri.joinPath(folder.uri, 'slow.cairn.yaml');
      packageJson = JSON.parse(fs.readFileSync(path.join(ext.extensionPath, 'package.json'), 'utf8')) as PackageJson;
      await api.index.rescan();
    });

    test('every palette command is registered', async () => {
      const all = new Set(await vscode.commands.getCommands(true));
      const ours = packageJson.contributes.commands.map((c) => c.command).filter((c) => c.startsWith('cairn.'));
      for (const id of [
        'cairn.runPipeline',
        'cairn.runStep',
        'cairn.runStepDownstream',
        'cairn.runWithParams',
        'cairn.cancelRun',
        'cairn.compareRuns',
        'cairn.showLineage',
        'cairn.showDrift',
        'cairn.validateWorkspace',
        'cairn.showRuntimeLog',
      ]) {
        assert.ok(ours.includes(id), `${id} is contributed`);
      }
      const missing = ours.filter((id) => !all.has(id));
      assert.deepEqual(missing, [], 'every contributed command has a handler');
    });

    test('the runtime starts and reports ready with the workspace it serves', async () => {
      const info = await api.runtime.whenReady();
      assert.equal(api.runtime.currentState, 'ready');
      assert.equal(
        fs.realpathSync(info.workspace),
        fs.realpathSync(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? ''),
      );
    });

    test('the Pipelines tree shows the pipeline and its steps', async () => {
      const roots = await api.pipelines.getChildren();
      const node = roots.find(
        (r): r is PipelineNode & { kind: 'pipeline' } => r.kind === 'pipeline' && r.entry.outline.name === 'tiny',
      );
      assert.ok(
        node,
        `pipelines: ${roots.map((r) => (r.kind === 'pipeline' ? r.entry.outline.name : r.kind)).join(', ')}`,
      );
      const steps = await api.pipelines.getChildren(node);
      assert.deepEqual(
        steps.map((s) => (s.kind === 'step' ? s.step : s.kind)),
        ['make', 'count'],
      );
    });

    test('a real run from the palette command: live progress, then the Experiments tree shows it with its key metric', async () => {
      // Load the group first, so the run must arrive through notifications rather than a reload.
      await api.experiments.getChildren();
      const group: ExperimentNode = { kind: 'group', pipeline: 'tiny' };
      await api.experiments.getChildren(group);
      const seen: string[] = [];
      const sub = api.runtime.onProgress((p) => {
        if (p.pipeline === 'tiny') seen.push(`${p.step ?? 'run'}:${p.status}`);
      });
      try {
        firstRun = await vscode.commands.executeCommand<RunResult | undefined>('cairn.runPipeline', tiny);
      } finally {
        sub.dispose();
      }
      assert.ok(firstRun, 'the command returned the run');
      assert.equal(firstRun.status, 'succeeded');
      assert.ok(
        seen.includes('make:running') && seen.includes('count:succeeded') && seen.includes('run:succeeded'),
        `progress seen: ${seen.join(' ')}`,
      );
      const runId = firstRun.runId;
      await when(
        api.experiments.onDidUpdate,
        () => api.experiments.model.run(runId)?.metrics['accuracy'] === 0.75,
        'the run with its final metrics in the Experiments model',
      );
      const children = await api.experiments.getChildren(group);
      const runNode = children.find((c) => c.kind === 'run' && c.runId === runId);
      assert.ok(runNode, `run #${runId} is in the tiny group`);
      const item = api.experiments.getTreeItem(runNode);
      assert.equal(label(item), `#${runId} succeeded`);
      assert.match(String(item.description), /accuracy 0\.75/);
      assert.equal(item.contextValue, 'cairn.run');
    });

    test('after the run, the Pipelines tree shows the steps fresh', async () => {
      assert.ok(firstRun, 'needs the run of the previous test');
      const roots = await api.pipelines.getChildren();
      const node = roots.find((r) => r.kind === 'pipeline' && r.entry.outline.name === 'tiny');
      assert.ok(node);
      const [make] = await api.pipelines.getChildren(node);
      assert.ok(make);
      const item = await api.pipelines.getTreeItem(make);
      assert.match(String(item.description), /^fresh/);
      assert.equal(typeof item.tooltip, 'string', 'the step tooltip is plain text');
      assert.match(item.tooltip as string, new RegExp(`run #${firstRun.runId}`));
    });

    test('CodeLens on the pipeline: run all, run step, run downstream, and the last result', async () => {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(tiny));
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', tiny);
      const titles = lenses
        .map((l) => `${l.range.start.line}:${l.command?.command ?? ''}:${l.command?.title ?? ''}`)
        .join('\n');
      const stepLine = 6; // `  make:` in the fixture; line 1 is `version: 1`
      assert.ok(
        lenses.some((l) => l.command?.command === 'cairn.runPipeline' && l.range.start.line === 1),
        titles,
      );
      assert.ok(
        lenses.some(
          (l) =>
            l.command?.command === 'cairn.runStep' &&
            l.range.start.line === stepLine &&
            l.command.arguments?.[1] === 'make',
        ),
        titles,
      );
      assert.ok(
        lenses.some((l) => l.command?.command === 'cairn.runStepDownstream' && l.range.start.line === stepLine),
        titles,
      );
      assert.ok(
        lenses.some((l) => l.command?.command === 'cairn.openStepLog' && /^✓ succeeded/.test(l.command.title)),
        titles,
      );
    });

    test('run step (the lens arguments) runs that step only', async () => {
      const result = await vscode.commands.executeCommand<RunResult | undefined>('cairn.runStep', tiny, 'count');
      assert.equal(result?.status, 'succeeded');
      const run = await api.runtime.request(GetRunRequest, { runId: result.runId });
      assert.deepEqual(
        run.steps.map((s) => s.step),
        ['count'],
      );
    });

    test('cancel run stops a running step', async () => {
      const started = new Promise<number>((resolve) => {
        const sub = api.runtime.onProgress((p) => {
          if (p.pipeline === 'slow' && p.step === 'wait' && p.status === 'running') {
            sub.dispose();
            resolve(p.runId);
          }
        });
      });
      const running = vscode.commands.executeCommand<RunResult | undefined>('cairn.runPipeline', slow);
      const runId = await started;
      assert.equal(await vscode.commands.executeCommand<boolean>('cairn.cancelRun', runId), true);
      const result = await running;
      assert.equal(result?.status, 'cancelled');
    });

    test('compare runs and show lineage open their panels', async () => {
      assert.ok(firstRun, 'needs the run of an earlier test');
      const second = await vscode.commands.executeCommand<RunResult | undefined>('cairn.runPipeline', tiny);
      assert.ok(second);
      const nodes: ExperimentNode[] = [
        { kind: 'run', runId: firstRun.runId },
        { kind: 'run', runId: second.runId },
      ];
      const compared = await vscode.commands.executeCommand<number[]>('cairn.compareRuns', nodes[0], nodes);
      assert.deepEqual(compared, [firstRun.runId, second.runId]);
      await when(vscode.window.tabGroups.onDidChangeTabs, () => webviewTab('Compare 2 runs'), 'the compare panel');
      assert.equal(await vscode.commands.executeCommand<number>('cairn.showLineage', second.runId), second.runId);
      await when(
        vscode.window.tabGroups.onDidChangeTabs,
        () => webviewTab(`Lineage · run:${second.runId}`),
        'the lineage panel',
      );
    });

    test('show drift computes the report with the runtime and opens the drift view', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      assert.ok(folder);
      const report = await api.showDriftBetween(
        vscode.Uri.joinPath(folder, 'drift-reference.csv'),
        vscode.Uri.joinPath(folder, 'drift-current.csv'),
      );
      assert.ok(report);
      assert.deepEqual(
        report.features.map((f) => [f.name, f.drifted]),
        [
          ['amount', true],
          ['channel', false],
        ],
      );
      await when(vscode.window.tabGroups.onDidChangeTabs, () => webviewTab(`Drift · ${report.id}`), 'the drift panel');
    });

    test('a crashed runtime is restarted and answers again', async () => {
      const before = await api.runtime.whenReady();
      const states: string[] = [];
      const sub = api.runtime.onDidChangeState((s) => states.push(s));
      try {
        const restarted = new Promise<number>((resolve) => {
          const ready = api.runtime.onReady((info) => {
            ready.dispose();
            resolve(info.pid);
          });
        });
        process.kill(before.pid, 'SIGKILL');
        const pid = await restarted;
        assert.notEqual(pid, before.pid);
      } finally {
        sub.dispose();
      }
      assert.deepEqual(states.slice(0, 1), ['restarting']);
      assert.equal(api.runtime.currentState, 'ready');
      assert.ok(firstRun, 'needs the run of an earlier test');
      const run = await api.runtime.request(GetRunRequest, { runId: firstRun.runId });
      assert.equal(run.status, 'succeeded', 'the store survived the crash');
    });

    test('a wrong cairn.runtime.nodePath fails at once with what to do, and fixing it brings the runtime back', async () => {
      const config = vscode.workspace.getConfiguration('cairn.runtime');
      const failed = when(
        api.runtime.onDidChangeState,
        () => api.runtime.currentState === 'failed',
        'the runtime to fail',
      );
      await config.update('nodePath', '/nonexistent/bin/node', vscode.ConfigurationTarget.Global);
      try {
        await failed;
        await assert.rejects(api.runtime.whenReady(), /failed to start/);
      } finally {
        const ready = when(
          api.runtime.onDidChangeState,
          () => api.runtime.currentState === 'ready',
          'the runtime to come back',
        );
        await config.update('nodePath', undefined, vscode.ConfigurationTarget.Global);
        await ready;
      }
      assert.equal((await api.runtime.whenReady()).workspace.length > 0, true);
    });

    test('validate workspace checks every pipeline file and counts its errors', async () => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      assert.ok(folder);
      const broken = vscode.Uri.joinPath(folder, 'broken.cairn.yaml');
      fs.writeFileSync(
        broken.fsPath,
        'version: 1\nname: broken\nsteps:\n  a:\n    run: echo hi\n    needs: [missing]\n',
      );
      const result = await vscode.commands.executeCommand<{ files: number; errors: number; warnings: number }>(
        'cairn.validateWorkspace',
      );
      assert.ok(result);
      assert.ok(result.files >= 4, `files: ${result.files}`);
      assert.ok(result.errors >= 1, `errors: ${result.errors}`);
      assert.ok(vscode.languages.getDiagnostics(broken).some((d) => /Unknown step 'missing'/.test(d.message)));
    });

    test('workspace trust: limited support declared, run actions gated on isWorkspaceTrusted', () => {
      assert.equal(packageJson.capabilities?.untrustedWorkspaces?.supported, 'limited');
      const runCommands = new Set([
        'cairn.runPipeline',
        'cairn.runStep',
        'cairn.runStepDownstream',
        'cairn.runWithParams',
        'cairn.rerun',
      ]);
      const gated = Object.entries(packageJson.contributes.menus)
        .filter(([where]) => where !== 'commandPalette')
        .flatMap(([, entries]) => entries)
        .filter((e) => runCommands.has(e.command));
      assert.ok(gated.length >= 5, `run menu entries: ${gated.length}`);
      for (const e of gated)
        assert.match(e.when ?? '', /isWorkspaceTrusted/, `${e.command} is hidden in Restricted Mode`);
      // This host is trusted: running is allowed (the untrusted lens set and refusal are unit-tested).
      assert.equal(vscode.workspace.isTrusted, true);
    });

    test('the Cairn activity-bar container opens with its three views', async () => {
      // Throws "command not found" unless package.json contributes the container.
      await vscode.commands.executeCommand('workbench.view.extension.cairn');
      assert.deepEqual(
        packageJson.contributes.views['cairn']?.map((v) => v.id),
        ['cairn.pipelines', 'cairn.experiments', 'cairn.models'],
      );
    });
  });
}
