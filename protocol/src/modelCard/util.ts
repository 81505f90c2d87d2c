/** Edit distance (optimal string alignment: a swap of two neighbours costs 1), for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    const prev = rows[i - 1] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      cur.push(d);
    }
    rows.push(cur);
  }
  return rows[a.length]?.[b.length] ?? 0;
}

/** The closest candidates to `word` (case-insensitive), nearest first, within a distance that grows with length. */
export function closest(word: string, candidates: readonly string[], limit = 3): string[] {
  const w = word.toLowerCase();
  const max = Math.max(1, Math.min(4, Math.floor(w.length / 3)));
  return (
    candidates
      .map((c, i) => ({ c, i, d: editDistance(w, c.toLowerCase()) }))
      .filter(({ c, d }) => d <= max || (w.length >= 3 && c.toLowerCase().startsWith(w)))
      // Ties keep the candidates' own order (the Hub's ids before SPDX spellings).
      .sort((x, y) => x.d - y.d || x.i - y.i)
      .slice(0, limit)
      .map(({ c }) => c)
  );
}

/** The folder part of a path written with `/` or `\`. */
export function dirnameOf(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

/** Resolves `relative` against folder `dir` (no file-system access; `.` and `..` folded; absolute stays). */
export function resolvePath(dir: string, relative: string): string {
  if (/^(?:[A-Za-z]:)?[\\/]/.test(relative)) return normalize(relative);
  return normalize(`${dir}/${relative}`);
}

function normalize(path: string): string {
  const sep = path.includes('\\') && !path.includes('/') ? '\\' : '/';
  const parts = path.split(/[\\/]/);
  const out: string[] = [];
  for (const [i, p] of parts.entries()) {
    if (p === '.' || (p === '' && i > 0)) continue;
    if (p === '..' && out.length > 0 && out[out.length - 1] !== '..' && out[out.length - 1] !== '') {
      out.pop();
      continue;
    }
    out.push(p);
  }
  return out.join(sep) || '.';
}
