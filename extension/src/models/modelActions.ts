import * as vscode from 'vscode';
import {
  DeployRequest,
  GetRunRequest,
  MonitorReportsRequest,
  PromoteModelRequest,
  StopDeploymentRequest,
  serveHealthSchema,
  type Alert,
  type DeployRequest as DeployMessage,
  type Deployment,
  type TitledDriftReport,
  type GateId,
  type Promotion,
  type ServeInputField,
} from '@cairn/protocol';
import { runtimeFile } from '../commands/context.js';
import { checkTrust, type RunLauncher } from '../commands/runLauncher.js';
import { RuntimeClient } from '../runtime/runtimeClient.js';
import type { ModelNode } from '../views/modelsView.js';
import type { WalkthroughProgress } from '../walkthrough/walkthroughProgress.js';
import { curlCommand, failingGates, gateItems, gateSummary, type GatePickItem } from './modelsModel.js';
import { isMethodMissing, type ModelsService } from './modelsService.js';

/**
 * What a command was called with: a Models view node, `{ name, version }` (lenses, the A/B view; the lens on a
 * pipeline's `deploy:` key adds its file), a model name.
 */
export type ModelTarget = ModelNode | { name: string; version?: number; pipeline?: string } | string | undefined;

/** The prompts of the promotion flow; the extension-host suite replaces them to drive the flow without clicking. */
export interface PromotionUi {
  /** Which alias to move (the first suggestion is pre-selected). */
  pickAlias(name: string, version: number, suggestions: string[]): Promise<string | undefined>;
  /** Shows every gate with its state and detail; returns what to do. */
  pickGateAction(
    title: string,
    gates: GatePickItem[],
    passed: boolean,
  ): Promise<'promote' | 'override' | { open: GatePickItem } | undefined>;
  /** The reason recorded with an override of the failing gates. */
  askReason(failing: GateId[]): Promise<string | undefined>;
}

/** The alert a target is (an alert node of the Models view, or an alert itself), if it is one. */
export function alertOf(target: ModelTarget | Alert): Alert | undefined {
  if (typeof target !== 'object') return undefined;
  if ('kind' in target && target.kind === 'alert') return target.alert;
  // An Alert is the only target with `openedAt` (a Models view node is told apart by its `kind` above).
  return 'openedAt' in target && 'reportId' in target && 'id' in target ? target : undefined;
}

type GateChoice = vscode.QuickPickItem & { action?: 'promote' | 'override' | 'cancel'; gate?: GatePickItem };

export const defaultPromotionUi: PromotionUi = {
  async pickAlias(name, version, suggestions) {
    const picked = await vscode.window.showQuickPick(
      suggestions.map((a) => ({ label: a })),
      { title: `Cairn: promote ${name} v${version} to which alias?`, placeHolder: 'champion, production, staging…' },
    );
    return picked?.label;
  },
  async pickGateAction(title, gates, passed) {
    const items: GateChoice[] = [
      ...gates.map((g): GateChoice => ({ label: g.label, description: g.description, detail: g.detail, gate: g })),
      { label: '', kind: vscode.QuickPickItemKind.Separator },
      passed
        ? { label: '$(check) Promote', description: 'every gate passes', action: 'promote' }
        : {
            label: '$(edit) Override with reason…',
            description: 'promote past the failing gates; the reason is recorded',
            action: 'override',
          },
      { label: '$(close) Cancel', action: 'cancel' },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title,
      placeHolder: passed ? 'Every gate passes' : 'Failing gates block the promotion unless overridden with a reason',
      matchOnDetail: true,
    });
    if (!picked || picked.action === 'cancel') return undefined;
    if (picked.gate) return { open: picked.gate };
    return picked.action;
  },
  askReason(failing) {
    return Promise.resolve(
      vscode.window.showInputBox({
        title: `Cairn: why promote past ${failing.join(', ')}?`,
        prompt: 'The reason is recorded with the promotion (who, when, which gates).',
        validateInput: (v) => (v.trim().length === 0 ? 'A reason is needed to override a gate.' : undefined),
      }),
    );
  },
};

/** Aliases offered for a promotion, in this order after the model's own. */
const usualAliases = ['champion', 'production', 'staging', 'challenger'];

/**
 * The deploy/promote/retrain actions of the Models view, the deploy lenses, the alerts and the A/B view: each converts
 * its argument, sends one runtime request, and shows the result. What opens a panel is in modelPanels.ts.
 */
export class ModelActions {
  promotionUi: PromotionUi = defaultPromotionUi;

  constructor(
    private readonly runtime: RuntimeClient,
    private readonly models: ModelsService,
    private readonly launcher: RunLauncher,
    private readonly walkthrough: WalkthroughProgress,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /**
   * Serves a model locally (`NAME` = its latest version, `NAME@3`, `NAME@champion`), with the settings of a pipeline's
   * `deploy:` block when the target names one; shows the URL with "Copy curl".
   */
  async deploy(target: ModelTarget, options: { quiet?: boolean } = {}): Promise<DeployMessage.Result | undefined> {
    if (!checkTrust()) return undefined;
    const ref = this.refOf(target);
    if (!ref) return undefined;
    const pipeline = typeof target === 'object' && !('kind' in target) ? target.pipeline : undefined;
    const where =
      pipeline === undefined
        ? 'on 127.0.0.1'
        : `with the deploy: settings of ${vscode.workspace.asRelativePath(pipeline, false)}`;
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Cairn: deploying ${ref} ${where}…` },
      () =>
        this.runtime
          .request(DeployRequest, { model: ref, ...(pipeline === undefined ? {} : { pipeline }) })
          .catch((error: unknown) => {
            if (isMethodMissing(error))
              throw new Error(
                `this runtime cannot deploy yet (it lacks ${DeployRequest.method}); run \`cairn serve --model ${ref}${pipeline === undefined ? '' : ` --pipeline ${pipeline}`}\` in a terminal instead.`,
              );
            throw error;
          }),
    );
    const d = result.deployment;
    this.models.rememberToken(d.id, result.token);
    this.walkthrough.deployed();
    this.log.info(
      `Deployment #${d.id} of ${d.ref} (v${d.version ?? '?'}) serving at ${d.url}${result.token === null ? ' without a token' : ''}.`,
    );
    void this.models
      .reload()
      .catch((e: unknown) => this.log.warn(`Reloading models after the deployment failed: ${String(e)}`));
    if (!options.quiet) {
      const tokenText = result.token === null ? 'no token' : `token ${result.token}`;
      const c = d.challenger;
      const ab = c
        ? ` against challenger ${c.version === null ? c.ref : `v${c.version}`} (${Math.round(c.split * 1000) / 10}% of traffic${c.key ? `, sticky by ${c.key}` : ''})`
        : '';
      void vscode.window
        .showInformationMessage(
          `Cairn: ${d.name}${d.version === null ? '' : ` v${d.version}`}${ab} is serving at ${d.url} (${tokenText}).`,
          'Copy curl',
          'Copy URL',
          'Stop',
        )
        .then(async (choice) => {
          if (choice === 'Copy curl') await this.copyCurl(d);
          else if (choice === 'Copy URL') await this.copyUrl(d);
          else if (choice === 'Stop') await this.stop(d);
        });
    }
    return result;
  }

  /**
   * Promotes a version to an alias through its gates: every gate is shown (pass/fail with its detail); failing gates
   * can be overridden only with a reason, which the runtime records with the move.
   */
  async promote(target: ModelTarget, aliasGiven?: string): Promise<Promotion | undefined> {
    if (!checkTrust()) return undefined;
    const name = this.nameOf(target);
    if (!name) return undefined;
    const entry = this.models.byName(name) ?? (await this.models.models()).find((m) => m.summary.name === name);
    const version = this.versionOf(target) ?? entry?.summary.latestVersion;
    if (version === undefined) throw new Error(`no registered model named ${name}`);
    const alias =
      aliasGiven ??
      (await this.promotionUi.pickAlias(
        name,
        version,
        [...new Set([...usualAliases, ...Object.keys(entry?.summary.aliases ?? {})])].filter(
          (a) => entry?.summary.aliases[a] !== version,
        ),
      ));
    if (!alias) return undefined;
    const report = await this.models.checkGates(name, version);
    const summary = gateSummary(report);
    const choice = await this.promotionUi.pickGateAction(
      `Promote ${name} v${version} to ${alias} — ${summary.title.replace(/^\$\([a-z-]+\) /, '')}`,
      gateItems(report),
      report.passed,
    );
    if (!choice) return undefined;
    if (typeof choice === 'object') {
      await this.openGateFile(report.gates.find((g) => g.gate === choice.open.gate));
      return undefined;
    }
    const failing = failingGates(report);
    let override: { override: GateId[]; reason: string } | undefined;
    if (choice === 'override' && failing.length > 0) {
      const reason = (await this.promotionUi.askReason(failing))?.trim();
      if (!reason) return undefined;
      override = { override: failing, reason };
    }
    const promotion = await this.runtime.request(PromoteModelRequest, { name, version, alias, ...(override ?? {}) });
    await this.models
      .reload()
      .catch((e: unknown) => this.log.warn(`Reloading models after the promotion failed: ${String(e)}`));
    if (promotion.move) {
      const m = promotion.move;
      const what = m.changed
        ? `${m.name}@${m.alias} → v${m.version}${m.previous === null ? '' : ` (was v${m.previous})`}`
        : `${m.name}@${m.alias} already pointed at v${m.version}`;
      this.log.info(
        `Promotion: ${what}${override ? `; overrode ${override.override.join(', ')}: ${override.reason}` : ''}.`,
      );
      void vscode.window.showInformationMessage(
        `Cairn: ${what}${override ? ` (gates overridden: ${override.override.join(', ')})` : ''}.`,
      );
    } else {
      const blocked = promotion.gates.gates.filter((g) => g.state === 'fail');
      void vscode.window.showWarningMessage(
        `Cairn: ${name} v${version} was not promoted: ${blocked.map((g) => `${g.gate}: ${g.detail}`).join('; ')}`,
      );
    }
    return promotion;
  }

  async stop(target: ModelNode | Deployment | undefined): Promise<Deployment | undefined> {
    const d = this.deploymentOf(target) ?? (await this.pickDeployment('Cairn: stop which deployment?'));
    if (!d) return undefined;
    const stopped = await this.runtime.request(StopDeploymentRequest, { id: d.id });
    await this.models
      .reload()
      .catch((e: unknown) => this.log.warn(`Reloading models after stopping failed: ${String(e)}`));
    void vscode.window.showInformationMessage(`Cairn: deployment #${stopped.id} (${stopped.ref}) ${stopped.status}.`);
    return stopped;
  }

  async copyUrl(target: ModelNode | Deployment | undefined): Promise<string | undefined> {
    const d = this.deploymentOf(target) ?? (await this.pickDeployment('Cairn: copy the URL of which deployment?'));
    if (!d) return undefined;
    await vscode.env.clipboard.writeText(d.url);
    void vscode.window.showInformationMessage(`Cairn: copied ${d.url}`);
    return d.url;
  }

  /** A curl command for POST /invocations with the served model's input columns (from GET /health) and the token. */
  async copyCurl(target: ModelNode | Deployment | undefined): Promise<string | undefined> {
    const d = this.deploymentOf(target) ?? (await this.pickDeployment('Cairn: a curl command for which deployment?'));
    if (!d) return undefined;
    const known = this.models.tokenOf(d.id);
    const token = known === undefined ? '$CAIRN_TOKEN' : known;
    const inputs = known === undefined ? undefined : await this.inputsOf(d.url, known);
    const command = curlCommand(d.url, token, inputs);
    await vscode.env.clipboard.writeText(command);
    void vscode.window.showInformationMessage(
      known === undefined
        ? `Cairn: copied a curl command for ${d.url}; deployment #${d.id} was started outside this window, so set CAIRN_TOKEN to the token \`cairn serve\` printed.`
        : `Cairn: copied a curl command for ${d.url}${inputs ? ` (${inputs.length} input columns, zeros: fill in real values)` : ''}.`,
    );
    return command;
  }

  /** The report a drift view asks for by `monitor:<id>` (or the latest of a model by name). */
  async monitorReport(query: {
    reportId?: string | undefined;
    deployment?: string | undefined;
  }): Promise<TitledDriftReport | undefined> {
    const byId = /^monitor:(\d+)$/.exec(query.reportId ?? '');
    if (!byId && !query.deployment) return undefined;
    const params = byId ? { id: Number(byId[1]) } : { name: query.deployment ?? '', limit: 1 };
    const { reports } = await this.runtime.request(MonitorReportsRequest, params);
    const found = reports[0];
    if (!found)
      throw new Error(
        byId ? `monitoring report ${byId[1]} is gone` : `no monitoring report for ${query.deployment ?? ''} yet`,
      );
    return found.report;
  }

  /** Re-runs the pipeline that registered the model's alerted (or latest) version, with the existing run launcher. */
  async retrain(target: ModelTarget | Alert): Promise<void> {
    if (!checkTrust()) return;
    const alert = alertOf(target);
    const name = alert?.name ?? this.nameOf(target as ModelTarget);
    if (!name) return;
    const entry = this.models.byName(name) ?? (await this.models.models()).find((m) => m.summary.name === name);
    const versions = entry?.detail?.versions ?? [];
    const version = versions.find((v) => v.version === (alert?.version ?? entry?.summary.latestVersion)) ?? versions[0];
    if (version?.runId === null || version?.runId === undefined)
      throw new Error(
        `cannot tell which pipeline registered ${name}${version ? ` v${version.version}` : ''} (its run is gone); run the pipeline by hand.`,
      );
    const run = await this.runtime.request(GetRunRequest, { runId: version.runId });
    const file = runtimeFile(run.pipelineFile);
    if (!file) return;
    this.log.info(
      `Retraining ${name}: running ${run.pipelineFile} (it registered v${version.version} in run #${run.id}).`,
    );
    await this.launcher.run({ pipeline: file });
  }

  private async inputsOf(url: string, token: string | null): Promise<ServeInputField[] | undefined> {
    try {
      const res = await fetch(`${url.replace(/\/$/, '')}/health`, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(3000),
      });
      const parsed = serveHealthSchema.safeParse(await res.json());
      return parsed.success ? parsed.data.model.inputs : undefined;
    } catch (error) {
      this.log.warn(`Reading ${url}/health for the curl example failed: ${String(error)}`);
      return undefined;
    }
  }

  private async openGateFile(
    gate: { file?: string | undefined; line?: number | undefined } | undefined,
  ): Promise<void> {
    const folder = RuntimeClient.workspaceFolder()?.uri;
    if (!gate?.file || !folder) return;
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, gate.file));
    const at = new vscode.Position(gate.line ?? 0, 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at) });
  }

  private async pickDeployment(title: string): Promise<Deployment | undefined> {
    const serving = (await this.models.models()).flatMap(
      (m) => m.status?.deployments.filter((d) => d.status === 'serving') ?? [],
    );
    if (serving.length === 0) {
      void vscode.window.showInformationMessage('Cairn: nothing is being served.');
      return undefined;
    }
    if (serving.length === 1) return serving[0];
    return (
      await vscode.window.showQuickPick(
        serving.map((d) => ({ label: `#${d.id} ${d.ref}`, description: d.url, d })),
        { title },
      )
    )?.d;
  }

  private deploymentOf(target: ModelNode | Deployment | undefined): Deployment | undefined {
    if (!target) return undefined;
    if ('kind' in target) return target.kind === 'deployment' ? target.deployment : undefined;
    return target;
  }

  /** The model a target names (a lone model when there is no target). */
  nameOf(target: ModelTarget): string | undefined {
    if (typeof target === 'string') return target.split('@', 1)[0];
    if (!target) return this.models.snapshot.length === 1 ? this.models.snapshot[0]?.summary.name : undefined;
    if ('kind' in target) return target.kind === 'message' ? undefined : target.name;
    return target.name;
  }

  private versionOf(target: ModelTarget): number | undefined {
    if (typeof target === 'object' && 'kind' in target) {
      if (target.kind === 'version') return target.version.version;
      if (target.kind === 'ab') return target.result.challengerVersion;
      return undefined;
    }
    if (typeof target === 'object') return target.version;
    const at = typeof target === 'string' ? /@(\d+)$/.exec(target) : null;
    return at ? Number(at[1]) : undefined;
  }

  private refOf(target: ModelTarget): string | undefined {
    if (typeof target === 'string') return target;
    const name = this.nameOf(target);
    if (!name) {
      void vscode.window.showWarningMessage(
        'Cairn: deploy which model? Use the Models view or the "Deploy locally" lens on a model card.',
      );
      return undefined;
    }
    const version = this.versionOf(target);
    return version === undefined ? name : `${name}@${version}`;
  }
}
