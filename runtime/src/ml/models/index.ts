import type { Predictor } from '../types.js';
import { readModelFile } from './artifact.js';
import { loadOnnxPredictor, type OnnxLoadOptions } from './onnx.js';
import { contentPredictor, hybridPredictor, mfPredictor, popularityPredictor } from './recommender.js';
import { tabularPredictor } from './tabular.js';

export { readModelFile, type CairnModel } from './artifact.js';
export { OnnxModelError, type OnnxLoadOptions } from './onnx.js';

/**
 * Loads a model for evaluation and serving: a Cairn model.json (any train.* output) or an .onnx file (a Cairn export
 * or a user's model following the tabular conventions in docs/ml.md).
 */
export async function loadPredictor(path: string, opts: OnnxLoadOptions = {}): Promise<Predictor> {
  if (path.toLowerCase().endsWith('.onnx')) return loadOnnxPredictor(path, opts);
  const m = await readModelFile(path);
  switch (m.kind) {
    case 'tabular':
      return tabularPredictor(m);
    case 'matrix-factorization':
      return mfPredictor(m);
    case 'popularity':
      return popularityPredictor(m);
    case 'content-based':
      return contentPredictor(m);
    case 'hybrid':
      return hybridPredictor(m);
  }
}
