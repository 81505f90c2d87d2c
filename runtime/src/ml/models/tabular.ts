import { initBackend } from '../backend.js';
import { predictGbdt } from '../train/gbdt.js';
import { predictTabular } from '../train/tabular.js';
import type { TabularPredictor } from '../types.js';
import type { TabularModel } from './artifact.js';
import { applyTransform } from '../data/transform.js';
import { applyEncoding } from './encoding.js';

/** A tabular model.json as a predictor: its saved transform, then the trees, or the network on the tfjs backend. */
export function tabularPredictor(m: TabularModel): TabularPredictor {
  const classes = m.classes?.length ?? 0;
  const { ensemble } = m;
  if (m.algorithm === 'gradient-boosting' && !ensemble)
    throw new Error(`a ${m.algorithm} model.json without its trees (ensemble); train it again`);
  if (m.algorithm !== 'gradient-boosting' && m.layers.length === 0)
    throw new Error(`a ${m.algorithm} model.json without its layers; train it again`);
  return {
    kind: 'tabular',
    task: m.task,
    ...(m.classes ? { classes: m.classes } : {}),
    inputColumns: m.inputColumns,
    async predict(table) {
      const x = applyEncoding(m.encoding, m.transform ? applyTransform(table, m.transform) : table);
      if (ensemble)
        return {
          values: predictGbdt(ensemble, x, table.rowCount, m.encoding.width),
          width: m.task === 'regression' ? 1 : classes,
        };
      await initBackend();
      const out = predictTabular(m.layers, x, table.rowCount, m.task, classes, m.targetScale);
      return { values: Float64Array.from(out), width: m.task === 'regression' ? 1 : classes };
    },
  };
}
