/**
 * The sections of a model card (Mitchell et al., "Model Cards for Model Reporting", 2019), the Hugging Face card
 * template's headings that count as each, and the templates quick fixes and samples insert.
 */

export type CardSectionId =
  | 'modelDetails'
  | 'intendedUse'
  | 'factors'
  | 'metrics'
  | 'evaluationData'
  | 'trainingData'
  | 'quantitativeAnalyses'
  | 'ethicalConsiderations'
  | 'caveatsAndRecommendations'
  | 'privacy';

export interface CardSectionSpec {
  id: CardSectionId;
  /** The heading the template writes. */
  title: string;
  /** What the section is for (hover, completion docs). */
  purpose: string;
  /** Normalised headings (see `normalizeHeading`) that count as this section, the Hugging Face template's included. */
  aliases: readonly string[];
  /** Normalised fragments: a heading containing one of these (as whole words) also counts. */
  keywords: readonly string[];
  /** Body the template puts under the heading. */
  body: string;
}

/** The nine Mitchell et al. sections, in the paper's order, then the privacy section required for personal data. */
export const cardSections: readonly CardSectionSpec[] = [
  {
    id: 'modelDetails',
    title: 'Model Details',
    purpose:
      'Who built the model, when, which version and type of model, how it was trained, license, and where to send questions.',
    aliases: [
      'model details',
      'model description',
      'model summary',
      'model information',
      'model overview',
      'model',
      'overview',
      'details',
      'description',
    ],
    keywords: ['model details', 'model description', 'model summary'],
    body: '- **Developed by:** \n- **Model date and version:** \n- **Model type:** \n- **Training algorithm and features:** \n- **License:** \n- **Contact:** ',
  },
  {
    id: 'intendedUse',
    title: 'Intended Use',
    purpose: 'The primary intended uses and users, and the uses that are out of scope.',
    aliases: [
      'intended use',
      'intended uses',
      'uses',
      'use',
      'direct use',
      'intended uses and limitations',
      'intended use and limitations',
      'intended use cases',
      'use cases',
      'primary intended uses',
      'usage',
    ],
    keywords: ['intended use', 'intended uses', 'direct use'],
    body: '- **Primary intended uses:** \n- **Primary intended users:** \n- **Out-of-scope uses:** ',
  },
  {
    id: 'factors',
    title: 'Factors',
    purpose:
      "Groups, instruments and environments that may change the model's performance, and which of them the evaluation covers.",
    aliases: ['factors', 'relevant factors', 'evaluation factors', 'testing data factors and metrics'],
    keywords: ['factors'],
    body: '- **Relevant factors:** \n- **Evaluation factors:** ',
  },
  {
    id: 'metrics',
    title: 'Metrics',
    purpose: 'The performance measures reported, the decision thresholds, and how uncertainty is estimated.',
    aliases: [
      'metrics',
      'evaluation metrics',
      'model performance measures',
      'performance measures',
      'performance metrics',
      'testing data factors and metrics',
      'evaluation',
      'evaluation results',
      'results',
    ],
    keywords: ['metrics'],
    body: '- **Model performance measures:** \n- **Decision thresholds:** \n- **Variation approaches:** ',
  },
  {
    id: 'evaluationData',
    title: 'Evaluation Data',
    purpose: 'The data sets used to evaluate the model, why they were chosen, and how they were preprocessed.',
    aliases: [
      'evaluation data',
      'evaluation dataset',
      'evaluation datasets',
      'testing data',
      'test data',
      'eval data',
      'evaluation',
      'testing data factors and metrics',
      'results',
      'evaluation results',
      'training and evaluation data',
    ],
    keywords: ['evaluation data', 'evaluation dataset', 'testing data', 'test data', 'eval data'],
    body: '- **Datasets:** \n- **Motivation:** \n- **Preprocessing:** ',
  },
  {
    id: 'trainingData',
    title: 'Training Data',
    purpose: 'The data the model was trained on (its distribution, as far as it can be shared) and its preprocessing.',
    aliases: [
      'training data',
      'training dataset',
      'training datasets',
      'training details',
      'training',
      'training and evaluation data',
      'training procedure and data',
      'data',
    ],
    keywords: ['training data', 'training dataset'],
    body: '<!-- Describe the training data, link its data card, and list the preprocessing applied. -->',
  },
  {
    id: 'quantitativeAnalyses',
    title: 'Quantitative Analyses',
    purpose: 'Results per factor (unitary) and per combination of factors (intersectional), with confidence intervals.',
    aliases: [
      'quantitative analyses',
      'quantitative analysis',
      'results',
      'evaluation results',
      'evaluation',
      'unitary results',
      'intersectional results',
      'performance',
      'benchmarks',
      'benchmark results',
    ],
    keywords: ['quantitative', 'evaluation results'],
    body: '- **Unitary results:** \n- **Intersectional results:** ',
  },
  {
    id: 'ethicalConsiderations',
    title: 'Ethical Considerations',
    purpose: 'Sensitive data, effects on human life, mitigations, risks and harms, and fraught use cases.',
    aliases: [
      'ethical considerations',
      'ethics',
      'ethical considerations and limitations',
      'bias risks and limitations',
      'risks limitations and biases',
      'bias risks limitations',
      'limitations and bias',
      'limitations and biases',
      'bias and limitations',
      'biases and limitations',
      'bias',
      'risks',
      'risks and limitations',
    ],
    keywords: ['ethic', 'ethical', 'ethics', 'bias', 'biases'],
    body: '- **Data:** \n- **Human life:** \n- **Mitigations:** \n- **Risks and harms:** \n- **Use cases:** ',
  },
  {
    id: 'caveatsAndRecommendations',
    title: 'Caveats and Recommendations',
    purpose: 'Known limitations, concerns the analyses do not cover, and recommendations for users.',
    aliases: [
      'caveats and recommendations',
      'caveats',
      'recommendations',
      'limitations',
      'bias risks and limitations',
      'risks limitations and biases',
      'bias risks limitations',
      'limitations and bias',
      'limitations and biases',
      'bias and limitations',
      'biases and limitations',
      'intended uses and limitations',
      'intended use and limitations',
      'risks and limitations',
      'known limitations',
    ],
    keywords: ['caveat', 'caveats', 'limitation', 'limitations', 'recommendation', 'recommendations'],
    body: '<!-- Known limitations, and recommendations for users of the model. -->',
  },
  {
    id: 'privacy',
    title: 'Privacy',
    purpose:
      'Which personal data the model was trained or evaluated on, its legal basis, how it was protected (pseudonymisation, minimisation, retention), and whether the model can reveal it.',
    aliases: [
      'privacy',
      'privacy considerations',
      'personal data',
      'data protection',
      'privacy and personal data',
      'privacy and data protection',
      'personal data and privacy',
      'sensitive data',
    ],
    keywords: ['privacy', 'personal data', 'data protection', 'gdpr', 'pii'],
    body: '- **Personal data used:** \n- **Legal basis:** \n- **Protection measures:** \n- **Retention:** ',
  },
];

/** The Mitchell et al. sections every complete card has (privacy only when it declares personal data). */
export const requiredSectionIds: readonly CardSectionId[] = [
  'modelDetails',
  'intendedUse',
  'factors',
  'metrics',
  'evaluationData',
  'trainingData',
  'quantitativeAnalyses',
  'ethicalConsiderations',
  'caveatsAndRecommendations',
];

const byId = new Map(cardSections.map((s) => [s.id, s]));

export function cardSection(id: CardSectionId): CardSectionSpec {
  const spec = byId.get(id);
  if (spec === undefined) throw new Error(`unknown model-card section ${id}`);
  return spec;
}

/**
 * Heading text reduced to lower-case words: numbering ("1.", "2.3", "IV."), emphasis, links, code, emoji,
 * "[optional]" and trailing colons go; "&" reads "and"; hyphens and punctuation become spaces.
 */
export function normalizeHeading(title: string): string {
  let t = title.toLowerCase();
  t = t.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'); // links keep their text
  t = t.replace(/[[(]\s*optional\s*[\])]/g, ' ');
  t = t.replace(/[*_`~]/g, '');
  t = t.replace(/&amp;|&/g, ' and ');
  t = t.replace(/^\s*(?:(?:\d+[.)]?)+|[ivx]+[.)]|[a-z][.)])\s+/, '');
  t = t.replace(/[^\p{L}\p{N}]+/gu, ' ');
  return t.trim().replace(/\s+/g, ' ');
}

/** The sections a heading counts as (several for combined HF headings such as "Bias, Risks, and Limitations"). */
export function sectionsOfHeading(title: string): CardSectionId[] {
  const n = normalizeHeading(title);
  if (n === '') return [];
  const padded = ` ${n} `;
  const out: CardSectionId[] = [];
  for (const s of cardSections) {
    if (s.aliases.includes(n) || s.keywords.some((k) => padded.includes(` ${k} `))) out.push(s.id);
  }
  return out;
}

/** One section from the template, as Markdown, starting with its heading at `level` and ending with a blank line. */
export function sectionTemplate(section: CardSectionId, level = 2): string {
  const spec = cardSection(section);
  return `${'#'.repeat(Math.min(6, Math.max(1, level)))} ${spec.title}\n\n${spec.body}\n\n`;
}

/** A complete card: front matter with Hub metadata and Cairn links, a title, and every Mitchell section. */
export function modelCardTemplate(name: string, options: { pipeline?: string; personalData?: boolean } = {}): string {
  const cairn = [`cairn:`, `  pipeline: ${options.pipeline ?? './cairn.yaml'}`, `  model: ${name}`];
  if (options.personalData !== undefined) cairn.push(`  personal_data: ${options.personalData}`);
  const front = ['---', 'license: apache-2.0', 'library_name: cairn', 'tags:', '- cairn', ...cairn, '---', ''].join(
    '\n',
  );
  const sections = requiredSectionIds.map((id) => sectionTemplate(id, 2)).join('');
  const privacy = options.personalData === true ? sectionTemplate('privacy', 2) : '';
  return `${front}\n# Model Card for ${name}\n\n<!-- One paragraph: what the model does and for whom. -->\n\n${sections}${privacy}`.replace(
    /\n+$/,
    '\n',
  );
}
