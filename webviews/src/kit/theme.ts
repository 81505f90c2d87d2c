/**
 * Colours for canvas drawing (uPlot, parallel coordinates), read from the VS Code theme variables so charts follow
 * the theme; CSS handles everything else directly with `var(--vscode-…)`.
 */
export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  accent: string;
  warning: string;
  error: string;
  ok: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function readTheme(): Theme {
  return {
    foreground: cssVar('--vscode-editor-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    grid: cssVar('--vscode-editorWidget-border', '#454545'),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    accent: cssVar('--vscode-focusBorder', '#007fd4'),
    warning: cssVar('--vscode-editorWarning-foreground', '#cca700'),
    error: cssVar('--vscode-editorError-foreground', '#f14c4c'),
    ok: cssVar('--vscode-testing-iconPassed', '#73c991'),
  };
}

/** A categorical palette readable on light and dark backgrounds (Tableau 10); runs cycle through it. */
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
export function seriesColor(i: number): string {
  return palette[i % palette.length] ?? '#4e79a7';
}
