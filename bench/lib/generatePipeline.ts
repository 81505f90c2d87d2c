/**
 * A realistic, valid pipeline with `steps` steps for benchmarks and tests: repeated groups of a command step
 * (prepare), a split, a feature transform, a training (logistic regression or MLP) and a gated evaluation, each
 * reading the previous step's outputs. Every param, data entry and output is used, so it checks clean.
 */
export function generatePipeline(steps: number): string {
  const out: string[] = [
    'version: 1',
    'name: generated',
    `description: A generated pipeline with ${steps} steps for benchmarks.`,
    '',
    'params:',
    '  seed: 42',
    '  epochs: 20',
    '  lr: 0.01',
    '  test_fraction: 0.2',
    '  threshold:',
    '    type: float',
    '    default: 0.7',
    '    min: 0',
    '    max: 1',
    '    description: Decision threshold of the classifiers.',
    '',
    'data:',
    '  raw: data/raw.csv',
    '  reference:',
    '    path: data/reference.csv',
    '    schema:',
    '      age: { type: int, min: 0, max: 120 }',
    '      income: { type: float, min: 0 }',
    '      region: { type: category }',
    '      label: { type: int, values: [0, 1] }',
    '',
    'steps:',
  ];
  const kinds = ['prep', 'split', 'fx', 'train', 'eval'] as const;
  let firstTrain: string | undefined;
  for (let i = 0; i < steps; i++) {
    const g = Math.floor(i / kinds.length);
    const kind = kinds[i % kinds.length];
    switch (kind) {
      case 'prep':
        out.push(
          `  prep_${g}:`,
          `    description: Clean batch ${g} of the raw data.`,
          `    run: python src/prep.py --in \${data.raw} --seed \${params.seed} --batch ${g} --out data/prep_${g}.csv`,
          '    deps: [src/prep.py]',
          `    outputs: { table: data/prep_${g}.csv }`,
          `    metrics: [metrics/prep_${g}.json]`,
          '    env: { PYTHONHASHSEED: "0" }',
          '    resources: { cpu: 1, memory: 2Gi }',
        );
        break;
      case 'split':
        out.push(
          `  split_${g}:`,
          '    uses: data.split',
          '    with:',
          `      input: \${steps.prep_${g}.outputs.table}`,
          '      test_fraction: ${params.test_fraction}',
          '      stratify: label',
          '      seed: ${params.seed}',
        );
        break;
      case 'fx':
        out.push(
          `  fx_${g}:`,
          '    uses: features.transform',
          '    with:',
          `      input: \${steps.split_${g}.outputs.train}`,
          '      standardize: [age, income]',
          '      one_hot: [region]',
          '      target: label',
        );
        break;
      case 'train':
        firstTrain ??= `train_${g}`;
        out.push(
          `  train_${g}:`,
          `    uses: ${g % 2 === 0 ? 'train.logistic-regression' : 'train.mlp'}`,
          '    with:',
          `      train: \${steps.fx_${g}.outputs.data}`,
          `      transform: \${steps.fx_${g}.outputs.transform}`,
          '      target: label',
          '      epochs: ${params.epochs}',
          '      lr: ${params.lr}',
          '    resources: { cpu: 2, gpu: optional }',
        );
        break;
      case 'eval':
        out.push(
          `  eval_${g}:`,
          '    uses: evaluate.classification',
          '    with:',
          `      model: \${steps.train_${g}.outputs.model}`,
          `      test: \${steps.split_${g}.outputs.test}`,
          '      target: label',
          '      slices: [region]',
          '      threshold: ${params.threshold}',
          '    gate:',
          '      accuracy: { min: 0.7 }',
          '      roc_auc: { min: 0.75 }',
        );
        break;
    }
  }
  out.push('');
  if (firstTrain) {
    out.push(
      'deploy:',
      `  model: \${steps.${firstTrain}.outputs.onnx}`,
      '  serve: { port: 8080 }',
      '  monitor:',
      '    reference: ${data.reference}',
      '    window: 1d',
      '    on_drift: alert',
      '',
    );
  }
  return out.join('\n');
}
