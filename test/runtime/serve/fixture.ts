import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TabularModel } from '../../../runtime/src/ml/models/artifact.js';
import { tabularToOnnx } from '../../../runtime/src/ml/onnx/export.js';

/**
 * A tiny Cairn classifier exported to ONNX exactly as train.* + model.export write it, with a saved feature transform
 * (age standardized, city one-hot, score passed through), so tests can compute the expected probability by hand and
 * see that the transform ran before the model.
 */
export interface Weights {
  age: number;
  paris: number;
  rome: number;
  score: number;
  bias: number;
}

export const MODEL_A: Weights = { age: 2, paris: 1, rome: -1, score: 0.5, bias: 0.1 };
export const MODEL_B: Weights = { age: -2, paris: -1, rome: 1, score: -0.5, bias: -0.1 };

export function tinyModel(w: Weights): TabularModel {
  return {
    format: 'cairn-model',
    formatVersion: 1,
    backend: 'test',
    seed: 1,
    metrics: {},
    kind: 'tabular',
    algorithm: 'logistic-regression',
    task: 'classification',
    target: 'bought',
    classes: ['no', 'yes'],
    inputColumns: ['age', 'city', 'score'],
    transform: {
      format: 'cairn.transform',
      version: 1,
      steps: [
        { kind: 'standardize', column: 'age', mean: 40, std: 10 },
        { kind: 'one_hot', column: 'city', categories: ['paris', 'rome'] },
        { kind: 'passthrough', column: 'score' },
      ],
      target: null,
      outputs: ['age', 'city=paris', 'city=rome', 'score'],
    },
    encoding: {
      columns: ['age', 'city=paris', 'city=rome', 'score'].map((name) => ({
        name,
        kind: 'numeric' as const,
        mean: 0,
        std: 1,
      })),
      width: 4,
    },
    layers: [{ inputs: 4, units: 1, weights: [w.age, w.paris, w.rome, w.score], bias: [w.bias], activation: 'linear' }],
  };
}

export function writeOnnxModel(dir: string, name: string, w: Weights): string {
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, tabularToOnnx(tinyModel(w)));
  return file;
}

/** P(yes) by hand: the transform, then the logistic layer. */
export function expectedYes(w: Weights, row: { age: number | null; city: string | null; score: number }): number {
  const age = row.age === null ? 0 : (row.age - 40) / 10;
  const z =
    w.age * age +
    (row.city === 'paris' ? w.paris : 0) +
    (row.city === 'rome' ? w.rome : 0) +
    w.score * row.score +
    w.bias;
  return 1 / (1 + Math.exp(-z));
}

/** The first stdout line of a `cairn serve` child (its listening line); rejects with its stderr if it exits first. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`cairn serve exited ${code} before listening: ${err}`)));
  });
}
