import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { decodeModel, decodeTensor } from '../../../runtime/src/ml/onnx/schema.js';
import { tensorFromProto, tensorNumbers } from '../../../runtime/src/ml/onnx/tensor.js';

// ONNX inference through onnxruntime-node against the expected outputs shipped with Debian's libonnx-testdata
// (`apt-get install libonnx-testdata`; scripts/setup.sh installs it). Inputs and outputs are TensorProto files read
// with Cairn's own protobuf schema, so this also tests the schema and tensor decoding.
const base = '/usr/share/libonnx-testdata/data';

const models = [
  'node/test_abs',
  'node/test_relu',
  'node/test_sigmoid',
  'node/test_tanh',
  'node/test_softmax_axis_1',
  'node/test_matmul_2d',
  'node/test_gemm_default_no_bias',
  'node/test_add_bcast',
  'node/test_gather_0',
  'node/test_reduce_sum_keepdims_example',
  'node/test_concat_2d_axis_0',
  'node/test_transpose_default',
  'node/test_exp',
  'node/test_argmax_default_axis_example',
  'simple/test_single_relu_model',
  'simple/test_sign_model',
  'simple/test_expand_shape_model1',
  'simple/test_shrink',
  'pytorch-converted/test_Conv2d',
  'pytorch-converted/test_Conv1d_stride',
  'pytorch-converted/test_ConvTranspose2d',
  'pytorch-converted/test_Linear_no_bias',
  'pytorch-converted/test_LogSoftmax',
  'pytorch-converted/test_MaxPool2d',
  'pytorch-converted/test_Embedding',
  'pytorch-converted/test_Softmax',
  'pytorch-converted/test_SELU',
  'pytorch-converted/test_PixelShuffle',
  'pytorch-operator/test_operator_chunk',
  'pytorch-operator/test_operator_reduced_mean_keepdim',
  'pytorch-operator/test_operator_maxpool',
  'pytorch-operator/test_operator_permute2',
];

function readTensor(path: string): ort.Tensor {
  return tensorFromProto(decodeTensor(readFileSync(path)));
}

test('libonnx-testdata is installed', () => {
  assert.ok(
    existsSync(base),
    `${base} is missing: install the Debian package libonnx-testdata (bash scripts/setup.sh)`,
  );
});

for (const name of models) {
  test(`onnx testdata ${name}`, async () => {
    const dir = `${base}/${name}`;
    const model = decodeModel(readFileSync(`${dir}/model.onnx`));
    const initialized = new Set((model.graph.initializer ?? []).map((t) => t.name));
    const inputs = model.graph.input.filter((i) => !initialized.has(i.name));
    const session = await ort.InferenceSession.create(`${dir}/model.onnx`, { logSeverityLevel: 3 });
    const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_'));
    assert.ok(sets.length > 0, 'no test data sets');
    for (const set of sets) {
      const feeds: Record<string, ort.Tensor> = {};
      inputs.forEach((input, i) => (feeds[input.name] = readTensor(`${dir}/${set}/input_${i}.pb`)));
      const got = await session.run(feeds);
      model.graph.output.forEach((output, i) => {
        const expected = readTensor(`${dir}/${set}/output_${i}.pb`);
        const actual = got[output.name];
        assert.ok(actual, `no output ${output.name}`);
        assert.deepEqual(actual.dims, expected.dims, `${set} ${output.name}: shape`);
        const a = tensorNumbers(actual);
        const e = tensorNumbers(expected);
        for (let j = 0; j < e.length; j++) {
          const diff = Math.abs((a[j] ?? NaN) - (e[j] ?? NaN));
          // The ONNX backend tests' own tolerance is rtol 1e-3, atol 1e-7; this is tighter on the relative part.
          assert.ok(
            diff <= 1e-5 + 1e-4 * Math.abs(e[j] ?? 0),
            `${set} ${output.name}[${j}]: ${a[j]} vs expected ${e[j]}`,
          );
        }
      });
    }
    await session.release();
  });
}
