import type { GbdtEnsemble, MfModel, TabularModel } from '../models/artifact.js';
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeMsg,
  type GraphMsg,
  type ModelMsg,
  type NodeMsg,
  type TensorMsg,
  type ValueInfoMsg,
} from './schema.js';
import { floatTensorProto, int64TensorProto } from './tensor.js';

/**
 * Exports Cairn models as ONNX (IR 8, default opset 13) so any ONNX runtime can serve them.
 *
 * Conventions (also what loadPredictor expects of Cairn ONNX files; documented in docs/ml.md):
 * - tabular: input `features` float32 [N, width] — rows after the model's saved feature transform, which travels in
 *   the metadata property `cairn.model` (the same JSON as model.json minus the weights); outputs `probabilities`
 *   float32 [N, classes] (classifiers, columns in the order of `classes`) or `prediction` float32 [N, 1] (regressors).
 * - matrix factorization: inputs `user` and `item` int64 [N] — indices into the id maps in `cairn.model`; output
 *   `score` float32 [N] = μ + b_u + b_i + p_u·q_i, clipped to the training rating range for explicit ratings.
 */
export const OPSET = 13;
/** The ai.onnx.ml opset of the tree ensembles (TreeEnsembleClassifier / TreeEnsembleRegressor, version 3). */
export const ML_OPSET = 3;
export const METADATA_KEY = 'cairn.model';

const floatInput = (name: string, dims: Array<number | string>): ValueInfoMsg => ({
  name,
  type: {
    tensorType: {
      elemType: DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
});
const typed = (name: string, elemType: number, dims: Array<number | string>): ValueInfoMsg => {
  const v = floatInput(name, dims);
  if (v.type?.tensorType) v.type.tensorType.elemType = elemType;
  return v;
};

const intAttr = (name: string, i: number): AttributeMsg => ({ name, type: AttributeType.INT, i });

const enc = new TextEncoder();
const intsAttr = (name: string, ints: number[]): AttributeMsg => ({ name, type: AttributeType.INTS, ints });
const floatsAttr = (name: string, floats: number[]): AttributeMsg => ({ name, type: AttributeType.FLOATS, floats });
const stringAttr = (name: string, s: string): AttributeMsg => ({ name, type: AttributeType.STRING, s: enc.encode(s) });
const stringsAttr = (name: string, strings: string[]): AttributeMsg => ({
  name,
  type: AttributeType.STRINGS,
  strings: strings.map((v) => enc.encode(v)),
});

function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: AttributeMsg[] = [],
  domain?: string,
): NodeMsg {
  return { opType, input, output, name: `${output[0] ?? opType}_${opType}`, attribute, ...(domain ? { domain } : {}) };
}

function model(graph: GraphMsg, metadata: unknown, doc: string, ml = false): ModelMsg {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }, ...(ml ? [{ domain: 'ai.onnx.ml', version: ML_OPSET }] : [])],
    producerName: 'cairn',
    producerVersion: '0.1.0',
    docString: doc,
    graph,
    metadataProps: [{ key: METADATA_KEY, value: JSON.stringify(metadata) }],
  };
}

/**
 * Gradient-boosted trees as one ai.onnx.ml tree-ensemble node: TreeEnsembleRegressor (`prediction` [N, 1]) or
 * TreeEnsembleClassifier (`label` [N] and `probabilities` [N, classes]; LOGISTIC for two classes — one score per
 * row, onnxruntime writes [1 − p, p] — SOFTMAX for more). Every node is BRANCH_LEQ: left when x ≤ threshold, as
 * Cairn's own prediction does, on the same float32 thresholds.
 */
function treesToOnnx(m: TabularModel, e: GbdtEnsemble): Uint8Array {
  const ids = {
    tree: [] as number[],
    node: [] as number[],
    feature: [] as number[],
    value: [] as number[],
    mode: [] as string[],
    yes: [] as number[],
    no: [] as number[],
  };
  const leaves = { tree: [] as number[], node: [] as number[], out: [] as number[], weight: [] as number[] };
  e.trees.forEach((t, ti) => {
    t.feature.forEach((f, ni) => {
      const leaf = f < 0;
      ids.tree.push(ti);
      ids.node.push(ni);
      ids.feature.push(leaf ? 0 : f);
      ids.value.push(leaf ? 0 : (t.threshold[ni] ?? 0));
      ids.mode.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      ids.yes.push(leaf ? 0 : (t.left[ni] ?? 0));
      ids.no.push(leaf ? 0 : (t.right[ni] ?? 0));
      if (leaf) {
        leaves.tree.push(ti);
        leaves.node.push(ni);
        leaves.out.push(ti % e.outputs);
        leaves.weight.push(t.value[ni] ?? 0);
      }
    });
  });
  const structure = [
    intsAttr('nodes_treeids', ids.tree),
    intsAttr('nodes_nodeids', ids.node),
    intsAttr('nodes_featureids', ids.feature),
    floatsAttr('nodes_values', ids.value),
    stringsAttr('nodes_modes', ids.mode),
    intsAttr('nodes_truenodeids', ids.yes),
    intsAttr('nodes_falsenodeids', ids.no),
    floatsAttr('base_values', e.baseScore),
  ];
  let nodes: NodeMsg[];
  let output: ValueInfoMsg[];
  if (m.task === 'regression') {
    nodes = [
      node(
        'TreeEnsembleRegressor',
        ['features'],
        ['prediction'],
        [
          ...structure,
          intsAttr('target_treeids', leaves.tree),
          intsAttr('target_nodeids', leaves.node),
          intsAttr('target_ids', leaves.out),
          floatsAttr('target_weights', leaves.weight),
          intAttr('n_targets', 1),
          stringAttr('aggregate_function', 'SUM'),
          stringAttr('post_transform', 'NONE'),
        ],
        'ai.onnx.ml',
      ),
    ];
    output = [floatInput('prediction', ['N', 1])];
  } else {
    const classes = m.classes ?? [];
    // Text labels as strings, whole numbers as int64s, anything else by index (the metadata keeps the real labels).
    const text = classes.some((c) => typeof c === 'string');
    const ints = classes.every((c) => typeof c === 'number' && Number.isInteger(c));
    const labels = text
      ? stringsAttr('classlabels_strings', classes.map(String))
      : intsAttr('classlabels_int64s', ints ? classes.map(Number) : classes.map((_, i) => i));
    nodes = [
      node(
        'TreeEnsembleClassifier',
        ['features'],
        ['label', 'probabilities'],
        [
          ...structure,
          intsAttr('class_treeids', leaves.tree),
          intsAttr('class_nodeids', leaves.node),
          intsAttr('class_ids', leaves.out),
          floatsAttr('class_weights', leaves.weight),
          labels,
          stringAttr('post_transform', e.objective === 'logloss' ? 'LOGISTIC' : 'SOFTMAX'),
        ],
        'ai.onnx.ml',
      ),
    ];
    output = [
      typed('label', text ? DataType.STRING : DataType.INT64, ['N']),
      floatInput('probabilities', ['N', classes.length]),
    ];
  }
  const { layers: _layers, ensemble: _trees, ...meta } = m;
  return encodeModel(
    model(
      {
        name: 'cairn_gradient_boosting',
        node: nodes,
        initializer: [],
        input: [floatInput('features', ['N', m.encoding.width])],
        output,
      },
      meta,
      `Cairn gradient boosting (${m.task}, ${e.trees.length} trees); input: encoded features, see the cairn.model metadata for the transform.`,
      true,
    ),
  );
}

export function tabularToOnnx(m: TabularModel): Uint8Array {
  if (m.ensemble) return treesToOnnx(m, m.ensemble);
  const nodes: NodeMsg[] = [];
  const init: TensorMsg[] = [];
  let h = 'features';
  m.layers.forEach((l, i) => {
    init.push(floatTensorProto(`W${i}`, [l.inputs, l.units], l.weights), floatTensorProto(`B${i}`, [l.units], l.bias));
    const z = `z${i}`;
    nodes.push(node('Gemm', [h, `W${i}`, `B${i}`], [z]));
    h = z;
    if (l.activation !== 'linear') {
      const a = `a${i}`;
      nodes.push(node(l.activation === 'relu' ? 'Relu' : l.activation === 'tanh' ? 'Tanh' : 'Sigmoid', [h], [a]));
      h = a;
    }
  });
  const width = m.encoding.width;
  let output: ValueInfoMsg;
  if (m.task === 'regression') {
    const s = m.targetScale ?? { mean: 0, std: 1 };
    init.push(floatTensorProto('target_std', [], [s.std]), floatTensorProto('target_mean', [], [s.mean]));
    nodes.push(node('Mul', [h, 'target_std'], ['scaled']), node('Add', ['scaled', 'target_mean'], ['prediction']));
    output = floatInput('prediction', ['N', 1]);
  } else {
    const classes = m.classes?.length ?? 2;
    if (classes === 2) {
      init.push(floatTensorProto('one', [], [1]));
      nodes.push(
        node('Sigmoid', [h], ['p1']),
        node('Sub', ['one', 'p1'], ['p0']),
        node('Concat', ['p0', 'p1'], ['probabilities'], [intAttr('axis', 1)]),
      );
    } else {
      nodes.push(node('Softmax', [h], ['probabilities'], [intAttr('axis', 1)]));
    }
    output = floatInput('probabilities', ['N', classes]);
  }
  const { layers: _weights, ensemble: _none, ...meta } = m;
  return encodeModel(
    model(
      {
        name: `cairn_${m.algorithm}`,
        node: nodes,
        initializer: init,
        input: [floatInput('features', ['N', width])],
        output: [output],
      },
      meta,
      `Cairn ${m.algorithm} (${m.task}); input: encoded features, see the cairn.model metadata for the transform.`,
    ),
  );
}

export function mfToOnnx(m: MfModel): Uint8Array {
  const k = m.factors;
  const init: TensorMsg[] = [
    floatTensorProto('P', [m.users.length, k], m.userFactors),
    floatTensorProto('Q', [m.items.length, k], m.itemFactors),
    floatTensorProto('BU', [m.users.length], m.userBias),
    floatTensorProto('BI', [m.items.length], m.itemBias),
    floatTensorProto('MU', [], [m.globalMean]),
    int64TensorProto('axis1', [1], [1]),
  ];
  const nodes: NodeMsg[] = [
    node('Gather', ['P', 'user'], ['pu']),
    node('Gather', ['Q', 'item'], ['qi']),
    node('Mul', ['pu', 'qi'], ['pq']),
    node('ReduceSum', ['pq', 'axis1'], ['dot'], [intAttr('keepdims', 0)]),
    node('Gather', ['BU', 'user'], ['bu']),
    node('Gather', ['BI', 'item'], ['bi']),
    node('Add', ['dot', 'bu'], ['s1']),
    node('Add', ['s1', 'bi'], ['s2']),
    node('Add', ['s2', 'MU'], [m.clip ? 'raw' : 'score']),
  ];
  if (m.clip) {
    init.push(floatTensorProto('LO', [], [m.clip.min]), floatTensorProto('HI', [], [m.clip.max]));
    nodes.push(node('Clip', ['raw', 'LO', 'HI'], ['score']));
  }
  const { userFactors: _p, itemFactors: _q, userBias: _bu, itemBias: _bi, ...meta } = m;
  return encodeModel(
    model(
      {
        name: 'cairn_matrix_factorization',
        node: nodes,
        initializer: init,
        input: [typed('user', DataType.INT64, ['N']), typed('item', DataType.INT64, ['N'])],
        output: [floatInput('score', ['N'])],
      },
      meta,
      'Cairn matrix factorization; inputs are indices into the users / items id maps of the cairn.model metadata.',
    ),
  );
}
