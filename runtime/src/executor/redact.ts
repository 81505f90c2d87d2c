import { redactedValue } from '@cairn/protocol';

/** Replaces every secret value in a line with "***" (longest first, so a secret containing another is fully hidden). */
export function makeRedactor(secrets: unknown[]): (line: string) => string {
  const values = secrets
    .map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    .filter((v): v is string => typeof v === 'string' && v.length > 0)
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const v of values) out = out.split(v).join(redactedValue);
    return out;
  };
}
