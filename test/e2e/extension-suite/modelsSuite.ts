import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DeployRequest, Promotion } from '@cairn/protocol';
import type { CairnApi, RuntimeFeatures } from '../../../extension/src/extension.js';
import type { PromotionUi } from '../../../extension/src/models/modelActions.js';
import type { GatePickItem } from '../../../extension/src/models/modelsModel.js';
import type { ModelNode } from '../../../extension/src/views/modelsView.js';
import { quickCreditPipeline } from '../lib/credit.js';

const extensionId = 'cairn-dev.cairn';

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** The first data row of the credit sample as a `dataframe_records` row (numbers as numbers). */
function firstCreditRow(file: string): Record<string, string | number> {
  const [header = '', row = ''] = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  const unquote = (s: string): string => s.replace(/^"|"$/g, '');
  const keys = header.split(',').map(unquote);
  const values = row.split(',').map(unquote);
  const out: Record<string, string | number> = {};
  keys.forEach((k, i) => {
    const v = values[i] ?? '';
    if (k !== 'Status') out[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  });
  return out;
}

/**
 * The deploy side of the extension (issue 6) in a real VS Code against a real runtime: a run of the (quick) credit sample
 * registers a model, the Models view lists it, the model card's lenses show "Deploy locally" and the gate state,
 * deploying serves it (a real HTTP request with the token gets a prediction), and the gates quick pick blocks a
 * promotion with a missing card section unless overridden with a reason.
 */
export function defineModelsSuite(): void {
  suite('Cairn models and deployment in a real VS Code', () => {
    let api: RuntimeFeatures;
    let folder: vscode.Uri;
    let card: vscode.Uri;
    let pipeline: vscode.Uri;
    let deployedUrl: string | undefined;

    suiteSetup(async function () {
      this.timeout(180_000);
      const ext = vscode.extensions.getExtension<CairnApi>(extensionId);
      assert.ok(ext, `extension ${extensionId} is installed`);
      api = (await ext.activate()).runtimeFeatures;
      const ws = vscode.workspace.workspaceFolders?.[0];
      assert.ok(ws, 'a workspace folder is open');
      folder = vscode.Uri.joinPath(ws.uri, 'credit');
      // The quick credit pipeline, with one card section removed so the card gate fails.
      fs.cpSync(path.join(ext.extensionPath, 'samples', 'credit'), folder.fsPath, { recursive: true });
      card = vscode.Uri.joinPath(folder, 'MODEL_CARD.md');
      pipeline = vscode.Uri.joinPath(folder, 'cairn.yaml');
      fs.writeFileSync(pipeline.fsPath, quickCreditPipeline(fs.readFileSync(pipeline.fsPath, 'utf8'), 3));
      const text = fs.readFileSync(card.fsPath, 'utf8');
      const cut = text.replace(/## Caveats and Recommendations\n[\s\S]*$/, '');
      assert.notEqual(cut, text, 'the card has a Caveats and Recommendations section to remove');
      fs.writeFileSync(card.fsPath, cut);
      await api.index.rescan();
      await api.runtime.whenReady();
      const result = await api.launcher.run({ pipeline });
      assert.equal(result?.status, 'succeeded', `the credit pipeline ran: ${JSON.stringify(result)}`);
    });

    suiteTeardown(async () => {
      // Leave nothing serving behind the suite.
      for (const m of await api.models.models().catch(() => [])) {
        for (const d of m.status?.deployments ?? [])
          if (d.status === 'serving') await api.modelActions.stop(d).catch(() => undefined);
      }
    });

    test('the Models view lists the registered model with its version, aliases and metrics', async () => {
      await api.models.reload();
      const roots = await api.modelsView.getChildren();
      const model = roots.find(
        (n): n is Extract<ModelNode, { kind: 'model' }> => n.kind === 'model' && n.name === 'credit-risk',
      );
      assert.ok(model, `a credit-risk node; got ${roots.map((n) => n.kind).join(', ')}`);
      assert.match(String(api.modelsView.getTreeItem(model).description), /^v1 · challenger → v1/);
      const children = await api.modelsView.getChildren(model);
      const version = children.find((n) => n.kind === 'version');
      assert.ok(version, `a version node; got ${children.map((n) => n.kind).join(', ')}`);
      const item = api.modelsView.getTreeItem(version);
      assert.equal(label(item), 'v1');
      assert.match(String(item.description), /^challenger · f1 0\.\d+/);
      assert.match(
        typeof item.tooltip === 'string' ? item.tooltip : '',
        /card: credit\/MODEL_CARD\.md[\s\S]*roc_auc: 0\.\d+/,
      );
      assert.equal(item.contextValue, 'cairn.modelVersion');
    });

    test('the model card shows "Deploy locally" and the gate state; the register step shows them too', async () => {
      const doc = await vscode.workspace.openTextDocument(card);
      await vscode.window.showTextDocument(doc);
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', card);
      const titles = lenses.map((l) => l.command?.title ?? '');
      assert.ok(titles.includes('$(rocket) Deploy locally'), titles.join(' | '));
      const gates = titles.find((t) => t.includes('gates'));
      assert.match(
        gates ?? '',
        /^\$\(warning\) gates [0-3]\/4 — card: missing section "Caveats and Recommendations"/,
        titles.join(' | '),
      );
      const deploy = lenses.find((l) => l.command?.title === '$(rocket) Deploy locally');
      assert.equal(
        deploy?.range.start.line,
        doc
          .getText()
          .split('\n')
          .findIndex((l) => l.startsWith('# Model Card')),
        'below the front matter, on the title',
      );
      assert.deepEqual(deploy?.command?.arguments, [{ name: 'credit-risk', version: 1 }]);

      const yaml = await vscode.workspace.openTextDocument(pipeline);
      const onPipeline = await vscode.commands.executeCommand<vscode.CodeLens[]>(
        'vscode.executeCodeLensProvider',
        pipeline,
      );
      const registerLine = yaml
        .getText()
        .split('\n')
        .findIndex((l) => l.startsWith('  register:'));
      const here = onPipeline.filter((l) => l.range.start.line === registerLine).map((l) => l.command?.title ?? '');
      assert.ok(here.includes('$(rocket) Deploy locally'), `lenses on the register step: ${here.join(' | ')}`);
      assert.ok(
        here.some((t) => /gates [0-3]\/4/.test(t)),
        here.join(' | '),
      );
    });

    test('Deploy locally serves the model: a request with the token gets a prediction, without it a 401', async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', card);
      const deploy = lenses.find((l) => l.command?.title === '$(rocket) Deploy locally')?.command;
      assert.ok(deploy);
      const args: unknown[] = deploy.arguments ?? [];
      const result = await vscode.commands.executeCommand<DeployRequest.Result | undefined>(deploy.command, ...args);
      assert.ok(result, 'the deploy command returned the deployment');
      assert.equal(result.deployment.status, 'serving');
      assert.equal(result.deployment.version, 1);
      assert.match(result.deployment.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(result.token, 'served with a token by default');
      deployedUrl = result.deployment.url;
      const body = JSON.stringify({
        dataframe_records: [firstCreditRow(path.join(folder.fsPath, 'data', 'credit.csv'))],
      });
      const res = await fetch(`${result.deployment.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${result.token}` },
        body,
      });
      const answer = (await res.json()) as {
        predictions?: Array<{ label: string; probabilities: Record<string, number> }>;
      };
      assert.equal(res.status, 200, JSON.stringify(answer));
      assert.equal(answer.predictions?.length, 1);
      assert.ok(['good', 'bad'].includes(answer.predictions?.[0]?.label ?? ''), JSON.stringify(answer));
      const denied = await fetch(`${result.deployment.url}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(denied.status, 401);

      // The Models view shows the deployment with its URL; the copy-curl action builds a working command.
      await api.models.reload();
      const model = (await api.modelsView.getChildren()).find((n) => n.kind === 'model' && n.name === 'credit-risk');
      assert.ok(model);
      const node = (await api.modelsView.getChildren(model)).find((n) => n.kind === 'deployment');
      assert.ok(node, 'a deployment node');
      const item = api.modelsView.getTreeItem(node);
      assert.equal(item.contextValue, 'cairn.deployment.serving');
      assert.ok(String(item.description).startsWith(result.deployment.url), String(item.description));
      const curl = await api.modelActions.copyCurl(node);
      assert.match(
        curl ?? '',
        new RegExp(
          `Authorization: Bearer ${result.token}.*"Seniority":0.*${result.deployment.url.replace(/[.:/]/g, '\\$&')}/invocations`,
        ),
      );
      assert.equal(await vscode.env.clipboard.readText(), curl);
    });

    test('stop deployment stops serving and the Models view drops it', async () => {
      assert.ok(deployedUrl, 'the previous test deployed');
      const model = (await api.modelsView.getChildren()).find((n) => n.kind === 'model' && n.name === 'credit-risk');
      assert.ok(model);
      const node = (await api.modelsView.getChildren(model)).find((n) => n.kind === 'deployment');
      assert.ok(node);
      const stopped = await api.modelActions.stop(node);
      assert.equal(stopped?.status, 'stopped');
      await assert.rejects(fetch(`${deployedUrl}/health`), 'nothing listens any more');
      const after = await api.modelsView.getChildren(
        (await api.modelsView.getChildren()).find((n) => n.kind === 'model'),
      );
      assert.ok(!after.some((n) => n.kind === 'deployment'), 'no serving deployment listed');
    });

    test('Retrain re-runs the pipeline that registered the model, with the run launcher', async () => {
      const finished = new Promise<{ runId: number; status: string; pipeline: string }>((resolve) => {
        const sub = api.launcher.onDidFinish((r) => {
          sub.dispose();
          resolve(r);
        });
      });
      await vscode.commands.executeCommand('cairn.models.retrain', 'credit-risk');
      const run = await finished;
      assert.deepEqual([run.pipeline, run.status], ['credit-risk', 'succeeded']);
    });

    test('the gates quick pick lists each gate; failing gates block the promotion unless overridden with a reason', async () => {
      const shown: Array<{ title: string; gates: GatePickItem[]; passed: boolean }> = [];
      const answers: Array<'promote' | 'override' | undefined> = [undefined, 'override'];
      const reasons: string[] = [];
      const ui: PromotionUi = {
        pickAlias: () => Promise.resolve('production'),
        pickGateAction: (title, gates, passed) => {
          shown.push({ title, gates, passed });
          return Promise.resolve(answers.shift());
        },
        askReason: (failing) => {
          reasons.push(failing.join(','));
          return Promise.resolve('suite: the caveats are in the README until the card is fixed');
        },
      };
      const original = api.modelActions.promotionUi;
      api.modelActions.promotionUi = ui;
      try {
        // Cancelled at the gates: nothing moves.
        assert.equal(
          await vscode.commands.executeCommand('cairn.models.promote', { name: 'credit-risk', version: 1 }),
          undefined,
        );
        assert.equal(shown.length, 1);
        const first = shown[0];
        assert.ok(first);
        assert.equal(first.passed, false);
        assert.match(first.title, /^Promote credit-risk v1 to production — gates [0-3]\/4/);
        assert.deepEqual(
          first.gates.map((g) => g.gate),
          ['card', 'card-metrics', 'evaluation', 'drift'],
        );
        const cardGate = first.gates[0];
        assert.equal(cardGate?.label, '$(error) card');
        assert.match(cardGate?.detail ?? '', /missing section "Caveats and Recommendations"/);
        assert.equal(
          (await api.models.reload()).find((m) => m.summary.name === 'credit-risk')?.summary.aliases['production'],
          undefined,
        );

        // Overridden with a reason: promoted, the override recorded.
        const promotion = await vscode.commands.executeCommand<Promotion | undefined>('cairn.models.promote', {
          name: 'credit-risk',
          version: 1,
        });
        assert.ok(promotion?.move, `promoted: ${JSON.stringify(promotion)}`);
        assert.deepEqual([promotion.move.alias, promotion.move.version], ['production', 1]);
        assert.ok(
          reasons[0]?.split(',').includes('card'),
          `the reason was asked for the failing gates: ${reasons.join(';')}`,
        );
        assert.equal(promotion.gates.gates.find((g) => g.gate === 'card')?.state, 'overridden');
        const model = (await api.modelsView.getChildren()).find((n) => n.kind === 'model' && n.name === 'credit-risk');
        assert.ok(model);
        const version = (await api.modelsView.getChildren(model)).find((n) => n.kind === 'version');
        assert.ok(version);
        assert.match(
          String(api.modelsView.getTreeItem(version).description),
          /challenger, production|production, challenger/,
        );
      } finally {
        api.modelActions.promotionUi = original;
      }
    });
  });
}
