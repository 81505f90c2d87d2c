import * as vscode from 'vscode';
import {
  AbResultsRequest,
  BusinessAbRequest,
  ExplainServedRequest,
  abFromViewSchema,
  abViewStateSchema,
  type AbFromView,
  type AbQuery,
  type AbResult,
  type AbToView,
  GetRunRequest,
  LineageRequest,
  ListRunsRequest,
  RunPageRequest,
  MetricHistoryRequest,
  compareFromViewSchema,
  compareViewStateSchema,
  driftFromViewSchema,
  explainFromViewSchema,
  explainViewStateSchema,
  RunExplanationsRequest,
  type ExplainFromView,
  type ExplainQuery,
  type ExplainToView,
  driftViewStateSchema,
  lineageFromViewSchema,
  lineageViewStateSchema,
  runSummariesToTable,
  chunkRunTable,
  assertNeverMessage,
  type CompareFromView,
  type CompareQuery,
  type CompareToView,
  type DriftFromView,
  type DriftQuery,
  type DriftToView,
  type TitledDriftReport,
  type LineageFromView,
  type LineageGraph,
  type LineageNode,
  type LineageQuery,
  type LineageToView,
  type MetricHistory,
} from '@cairn/protocol';
import type { RuntimeRequestType } from '../runtime/runtimeClient.js';
import { postRunPages, type RunPager } from './comparePages.js';
import { ViewPanel, revivedQuery, type ViewController, type ViewSpec } from './panelHost.js';

/**
 * The compare, lineage, drift and A/B panels. The extension stays thin: each controller relays the runtime's results to
 * its view and the view's requests to the runtime; what a click does (open a file, run a step) is injected by the
 * code that owns those commands.
 */

/** The part of RuntimeClient the views use (structural, so tests can pass a fake). */
export interface WebviewRuntime {
  request<P, R>(message: RuntimeRequestType<P, R>, params: P): Promise<R>;
}

export interface WebviewActions {
  openRun(runId: number): Promise<void>;
  /** Open what a lineage node stands for (its file, its run's details, its model card). */
  openLineageNode(node: LineageNode): Promise<void>;
  /** Run the pipeline from a step node (the step and everything downstream). */
  runFromNode(node: LineageNode): Promise<void>;
  /** Show where a feature's drift threshold is configured. */
  openDriftThresholds(feature: string): Promise<void>;
  /** The report a drift view asks for: a stored monitoring report, or one computed from two files this session. */
  driftReport(query: DriftQuery): Promise<TitledDriftReport>;
  /** Promote the challenger of an A/B result (through its gates); what happened, in one sentence. */
  promoteChallenger(result: AbResult, alias: string): Promise<{ ok: boolean; message: string }>;
  /** Whether promoting is allowed here (Restricted Mode: no). */
  canPromote(): boolean;
}

export interface CairnWebviews {
  showCompare(query: CompareQuery): void;
  showLineage(query: LineageQuery): void;
  showDrift(query: DriftQuery): void;
  showAb(query: AbQuery): void;
  /** A run's explanations (one step's explanations.json). */
  showExplanation(query: ExplainQuery): void;
  /** Runs changed (progress, new metrics): open compare panels get a patch with their new summaries. */
  runsChanged(runIds: number[]): void;
}

/** Runs loaded into one compare panel at most: the table is fluid at this size (bench/ui/compare.ts). */
const MAX_RUNS = 10_000;
/** Metric histories fetched in parallel for one chart. */
const HISTORY_CONCURRENCY = 8;

const compareSpec: ViewSpec<CompareFromView, CompareQuery> = {
  viewType: 'cairn.compare',
  bundle: 'compare',
  fromView: compareFromViewSchema,
  state: compareViewStateSchema,
  title: (q) => (q.runIds ? `Compare ${q.runIds.length} runs` : `Compare runs${q.pipeline ? ` · ${q.pipeline}` : ''}`),
};
const lineageSpec: ViewSpec<LineageFromView, LineageQuery> = {
  viewType: 'cairn.lineage',
  bundle: 'lineage',
  fromView: lineageFromViewSchema,
  state: lineageViewStateSchema,
  title: (q) => `Lineage · ${q.target}`,
};
const driftSpec: ViewSpec<DriftFromView, DriftQuery> = {
  viewType: 'cairn.drift',
  bundle: 'drift',
  fromView: driftFromViewSchema,
  state: driftViewStateSchema,
  title: (q) => `Drift${q.deployment ? ` · ${q.deployment}` : q.reportId ? ` · ${q.reportId}` : ''}`,
};

const abSpec: ViewSpec<AbFromView, AbQuery> = {
  viewType: 'cairn.ab',
  bundle: 'ab',
  fromView: abFromViewSchema,
  state: abViewStateSchema,
  title: (q) => `A/B${q.name ? ` · ${q.name}` : ''}${q.resultId === undefined ? '' : ` · #${q.resultId}`}`,
};

const explainSpec: ViewSpec<ExplainFromView, ExplainQuery> = {
  viewType: 'cairn.explain',
  bundle: 'explain',
  fromView: explainFromViewSchema,
  state: explainViewStateSchema,
  title: (q) =>
    q.served
      ? `Explanation · deployment #${q.served.deploymentId}`
      : `Explanation${q.runId === undefined ? '' : ` · run #${q.runId}`}${q.step ? ` · ${q.step}` : ''}`,
};

/** The alias an A/B view offers to move to the challenger. */
const PROMOTE_TO = 'champion';

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function registerWebviews(
  context: vscode.ExtensionContext,
  runtime: WebviewRuntime,
  actions: WebviewActions,
  log: vscode.LogOutputChannel,
): CairnWebviews {
  const comparePanels = new Set<ViewPanel<CompareToView, CompareFromView, CompareQuery>>();

  const compareController = (
    p: ViewPanel<CompareToView, CompareFromView, CompareQuery>,
  ): ViewController<CompareFromView, CompareQuery> => {
    /** Over MAX_RUNS runs the view is windowed: this reads the pages it asks for. */
    let pager: RunPager | undefined;
    return {
      async onReady(query) {
        pager = undefined;
        try {
          if (!query.runIds) {
            pager = await postRunPages(
              (params) => runtime.request(RunPageRequest, params),
              query,
              (m) => p.post(m),
              MAX_RUNS,
            );
            return;
          }
          const list = await runtime.request(ListRunsRequest, {
            filter: query.pipeline ? { pipeline: query.pipeline } : undefined,
            sort: { by: 'startedAt', order: 'desc' },
            limit: MAX_RUNS,
          });
          const wanted = new Set(query.runIds);
          const runs = list.runs.filter((r) => wanted.has(r.id));
          // The first rows paint while the rest are still being delivered (see chunkRunTable).
          const [head, ...tail] = chunkRunTable(runSummariesToTable(runs));
          let pending = runs.length - (head?.rows.length ?? 0);
          p.post({
            type: 'runs',
            payload: { query, table: head ?? { columns: [], rows: [] }, total: runs.length, pending },
          });
          for (const chunk of tail) {
            pending -= chunk.rows.length;
            p.post({ type: 'patch', payload: { table: chunk, pending } });
          }
        } catch (err) {
          p.fail('Loading runs failed', err, 'Check the Cairn runtime log (Cairn: Show Runtime Log).');
        }
      },
      async onMessage(message) {
        switch (message.type) {
          case 'requestHistories': {
            const { requestId, runIds, metric, maxPoints } = message.payload;
            try {
              const histories: MetricHistory[] = await mapLimit(runIds, HISTORY_CONCURRENCY, (runId) =>
                runtime.request(MetricHistoryRequest, { runId, key: metric, maxPoints }),
              );
              p.post({ type: 'histories', payload: { requestId, metric, histories } });
            } catch (err) {
              p.fail(`Loading the history of ${metric} failed`, err);
            }
            return;
          }
          case 'requestPages':
            if (!pager) {
              log.warn('cairn.compare: ignored a request for pages from a view that holds all its runs');
              return;
            }
            try {
              await pager.want(message.payload);
            } catch (err) {
              p.fail('Loading runs failed', err, 'Check the Cairn runtime log (Cairn: Show Runtime Log).');
            }
            return;
          case 'openRun':
            return actions.openRun(message.payload.runId);
          case 'showLineage':
            showLineage({ target: String(message.payload.runId) });
            return;
          case 'ready':
          case 'error':
            return;
          default:
            assertNeverMessage(message);
        }
      },
    };
  };

  const lineageController = (
    p: ViewPanel<LineageToView, LineageFromView, LineageQuery>,
  ): ViewController<LineageFromView, LineageQuery> => {
    // Only ids of the graph this panel was sent are acted on: a view cannot make the extension open arbitrary paths.
    let nodes = new Map<string, LineageNode>();
    const nodeFor = (id: string): LineageNode | undefined => {
      const n = nodes.get(id);
      if (!n) log.warn(`cairn.lineage: ignored a request for unknown node '${id}'`);
      return n;
    };
    return {
      async onReady(query) {
        try {
          const graph: LineageGraph = await runtime.request(LineageRequest, { target: query.target });
          nodes = new Map(graph.nodes.map((n) => [n.id, n]));
          p.post({ type: 'graph', payload: { query, graph } });
        } catch (err) {
          p.fail(
            `Loading the lineage of ${query.target} failed`,
            err,
            'Check that the run, artifact or model exists (cairn lineage <target>).',
          );
        }
      },
      async onMessage(message) {
        switch (message.type) {
          case 'open': {
            const n = nodeFor(message.payload.nodeId);
            if (n) await actions.openLineageNode(n);
            return;
          }
          case 'run': {
            const n = nodeFor(message.payload.nodeId);
            if (n?.kind === 'step') await actions.runFromNode(n);
            return;
          }
          case 'ready':
          case 'error':
            return;
          default:
            assertNeverMessage(message);
        }
      },
    };
  };

  const driftController = (
    p: ViewPanel<DriftToView, DriftFromView, DriftQuery>,
  ): ViewController<DriftFromView, DriftQuery> => ({
    async onReady(query) {
      try {
        p.post({ type: 'report', payload: { query, report: await actions.driftReport(query) } });
      } catch (err) {
        p.fail('Loading the drift report failed', err);
      }
    },
    async onMessage(message) {
      switch (message.type) {
        case 'openThresholds':
          return actions.openDriftThresholds(message.payload.feature);
        case 'ready':
        case 'error':
          return;
        default:
          assertNeverMessage(message);
      }
    },
  });

  const abController = (p: ViewPanel<AbToView, AbFromView, AbQuery>): ViewController<AbFromView, AbQuery> => {
    // Only the result this panel was sent can be promoted from it.
    let shown: AbResult | undefined;
    return {
      async onReady(query) {
        try {
          const { results } = await runtime.request(
            AbResultsRequest,
            query.resultId !== undefined ? { id: query.resultId } : query.name ? { name: query.name } : {},
          );
          const result = results[0];
          const name = query.name ?? result?.name;
          // The business report exists only for a deployment with a challenger that got impressions: absent is normal.
          const business =
            name === undefined
              ? undefined
              : await runtime
                  .request(BusinessAbRequest, { name })
                  .catch((err: unknown) => void log.info(`cairn.ab: no business report for ${name}: ${String(err)}`));
          if (!result && !business) {
            p.post({
              type: 'error',
              payload: {
                message: `No A/B result${query.name ? ` for ${query.name}` : ''} yet.`,
                hint: 'Run `cairn ab` (a replay on a holdout) or split traffic with a challenger and send feedback.',
              },
            });
            return;
          }
          if (result) {
            shown = result;
            p.post({ type: 'result', payload: { query, result, promoteTo: actions.canPromote() ? PROMOTE_TO : null } });
          }
          if (business) p.post({ type: 'business', payload: { report: business } });
        } catch (err) {
          p.fail('Loading the A/B result failed', err, 'Check the Cairn runtime log (Cairn: Show Runtime Log).');
        }
      },
      async onMessage(message) {
        switch (message.type) {
          case 'promote': {
            if (!shown || shown.id !== message.payload.resultId) {
              log.warn(
                `cairn.ab: ignored a promotion of result ${message.payload.resultId}, which this panel does not show`,
              );
              return;
            }
            const outcome = await actions.promoteChallenger(shown, PROMOTE_TO);
            p.post({ type: 'promoted', payload: { resultId: shown.id, ...outcome } });
            return;
          }
          case 'ready':
          case 'error':
            return;
          default:
            assertNeverMessage(message);
        }
      },
    };
  };

  const explainController = (
    p: ViewPanel<ExplainToView, ExplainFromView, ExplainQuery>,
  ): ViewController<ExplainFromView, ExplainQuery> => ({
    async onReady(query) {
      if (query.served) {
        const served = query.served;
        try {
          const { title, explanations } = await runtime.request(ExplainServedRequest, served);
          p.post({ type: 'explanations', payload: { query, title, explanations } });
        } catch (err) {
          p.fail(
            `Explaining the prediction of deployment #${served.deploymentId} failed`,
            err,
            'The version that answered it needs contributions (a tree or linear model) and a run with `explain: true`.',
          );
        }
        return;
      }
      if (query.runId === undefined) {
        p.post({
          type: 'error',
          payload: { message: 'This explanation panel names no run.', hint: 'Open one with Cairn: Open Explanation.' },
        });
        return;
      }
      try {
        const { runId, steps } = await runtime.request(RunExplanationsRequest, {
          runId: query.runId,
          ...(query.step ? { step: query.step } : {}),
        });
        const [first] = steps;
        if (!first) return;
        p.post({
          type: 'explanations',
          payload: { query, title: `Run #${runId} · ${first.step}`, explanations: first.explanations },
        });
      } catch (err) {
        p.fail(
          `Loading the explanations of run #${query.runId} failed`,
          err,
          'Check that the run exists and one of its evaluate steps has `explain: true`.',
        );
      }
    },
    // The view only says it is ready or failed: nothing in it acts on the workspace.
    onMessage(message) {
      switch (message.type) {
        case 'ready':
        case 'error':
          return Promise.resolve();
        default:
          return assertNeverMessage(message);
      }
    },
  });

  function open<To extends { type: string }, From extends { type: string }, Q>(
    spec: ViewSpec<From, Q>,
    query: Q,
    controller: (p: ViewPanel<To, From, Q>) => ViewController<From, Q>,
    panel?: vscode.WebviewPanel,
  ): ViewPanel<To, From, Q> {
    const webviewPanel =
      panel ?? vscode.window.createWebviewPanel(spec.viewType, spec.title(query), vscode.ViewColumn.Active, {});
    const view = new ViewPanel<To, From, Q>(webviewPanel, spec, query, context.extensionUri, log, controller);
    context.subscriptions.push(view);
    return view;
  }

  const openCompare = (query: CompareQuery, panel?: vscode.WebviewPanel): void => {
    const view = open(compareSpec, query, compareController, panel);
    comparePanels.add(view);
    view.panel.onDidDispose(() => comparePanels.delete(view));
  };
  const showLineage = (query: LineageQuery, panel?: vscode.WebviewPanel): void =>
    void open(lineageSpec, query, lineageController, panel);
  const showDrift = (query: DriftQuery, panel?: vscode.WebviewPanel): void =>
    void open(driftSpec, query, driftController, panel);
  const showAb = (query: AbQuery, panel?: vscode.WebviewPanel): void => void open(abSpec, query, abController, panel);
  const showExplanation = (query: ExplainQuery, panel?: vscode.WebviewPanel): void =>
    void open(explainSpec, query, explainController, panel);

  // Panels open at shutdown come back after a reload with the query from their saved state.
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(compareSpec.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        openCompare(revivedQuery(compareSpec, state, {}, log), panel);
        return Promise.resolve();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(lineageSpec.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        const query = revivedQuery<LineageQuery | undefined>(lineageSpec, state, undefined, log);
        if (query) showLineage(query, panel);
        else panel.dispose();
        return Promise.resolve();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(driftSpec.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        showDrift(revivedQuery(driftSpec, state, {}, log), panel);
        return Promise.resolve();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(explainSpec.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        showExplanation(revivedQuery(explainSpec, state, {}, log), panel);
        return Promise.resolve();
      },
    }),
    vscode.window.registerWebviewPanelSerializer(abSpec.viewType, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        showAb(revivedQuery(abSpec, state, {}, log), panel);
        return Promise.resolve();
      },
    }),
  );

  return {
    showCompare: (query) => openCompare(query),
    showLineage: (query) => showLineage(query),
    showDrift: (query) => showDrift(query),
    showAb: (query) => showAb(query),
    showExplanation: (query) => showExplanation(query),
    runsChanged(runIds) {
      if (comparePanels.size === 0 || runIds.length === 0) return;
      void mapLimit(runIds, HISTORY_CONCURRENCY, (runId) => runtime.request(GetRunRequest, { runId })).then(
        (runs) => {
          for (const view of comparePanels) {
            const wanted = view.query.runIds ? new Set(view.query.runIds) : undefined;
            const mine = runs.filter(
              (r) => (!wanted || wanted.has(r.id)) && (!view.query.pipeline || r.pipeline === view.query.pipeline),
            );
            if (mine.length > 0) view.post({ type: 'patch', payload: { table: runSummariesToTable(mine) } });
          }
        },
        (err: unknown) => log.warn(`cairn.compare: refreshing runs ${runIds.join(', ')} failed: ${String(err)}`),
      );
    },
  };
}
