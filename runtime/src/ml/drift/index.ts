export * from './report.js';
export { ks2samp, ks2sampSorted, type KsResult } from './ks.js';
export { kstwoSf, smirnov } from './kolmogorov.js';
export { chi2Sf, gammaP, gammaQ, lgamma } from './gamma.js';
export { chiSquareHomogeneity, jensenShannon, psi, wassersteinSorted } from './stats.js';
export { formatDriftTable } from './format.js';
export { driftOfFiles } from './files.js';
