import type { Column } from '../types.js';

/**
 * Personal-data detection per column, so model cards and governance can require a privacy section. Two signals:
 * the column's name (email, phone, name, address, birth date, IP, national ids, card numbers…) and its values
 * (a sample of up to 1,000 present cells, flagged when ≥ 50 % look like one kind). A schema rule `pii: true/false`
 * overrides detection.
 */
export type PiiKind =
  'email' | 'phone' | 'person_name' | 'ip_address' | 'credit_card' | 'address' | 'birth_date' | 'national_id';

export interface PiiFlag {
  pii: boolean;
  kinds: PiiKind[];
  /** Why: the name or the share of matching values. */
  reasons: string[];
}

const NAME_PATTERNS: Array<[RegExp, PiiKind]> = [
  [/e-?mail/i, 'email'],
  [/(^|[_\s-])(phone|mobile|tel|telephone|cell)([_\s-]|$)|phone/i, 'phone'],
  [
    /(^|[_\s-])(first|last|full|given|family|middle|sur|user|customer|patient|person|maiden)[_\s-]?name([_\s-]|$)|^name$|^surname$/i,
    'person_name',
  ],
  [/(^|[_\s-])ip([_\s-]?(address|addr|v4|v6))?([_\s-]|$)/i, 'ip_address'],
  [/credit[_\s-]?card|card[_\s-]?(number|no)|(^|[_\s-])(iban|pan)([_\s-]|$)/i, 'credit_card'],
  [/(^|[_\s-])(address|street|addr|zip|zipcode|postcode|postal[_\s-]?code)([_\s-]|$)/i, 'address'],
  [/(^|[_\s-])(dob|birth[_\s-]?date|date[_\s-]?of[_\s-]?birth|birthday)([_\s-]|$)/i, 'birth_date'],
  [
    /(^|[_\s-])(ssn|social[_\s-]?security|passport|national[_\s-]?id|tax[_\s-]?id|nino|driver'?s?[_\s-]?licen[cs]e)([_\s-]|$)/i,
    'national_id',
  ],
];

const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;
const PHONE = /^\+?[\d\s().-]{7,20}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$/;
const PERSON = /^[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?: [A-Z]\.?)?(?: [A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?){1,2}$/;
const CARD = /^(?:\d[ -]?){13,19}$/;

function luhn(text: string): boolean {
  const digits = text.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function valueKind(v: string): PiiKind | null {
  const t = v.trim();
  if (EMAIL.test(t)) return 'email';
  if (IPV4.test(t) || (t.includes(':') && IPV6.test(t) && t.split(':').length > 3)) return 'ip_address';
  if (CARD.test(t) && luhn(t)) return 'credit_card';
  if (PHONE.test(t) && t.replace(/\D/g, '').length >= 7 && /[\s().+-]/.test(t)) return 'phone';
  if (PERSON.test(t)) return 'person_name';
  return null;
}

export function detectPii(col: Column): PiiFlag {
  const kinds = new Set<PiiKind>();
  const reasons: string[] = [];
  for (const [re, kind] of NAME_PATTERNS) {
    if (re.test(col.name)) {
      kinds.add(kind);
      reasons.push(`column name '${col.name}' suggests ${kind.replace('_', ' ')}`);
      break;
    }
  }
  if (col.type === 'string') {
    const counts = new Map<PiiKind, number>();
    let sampled = 0;
    for (const v of col.values) {
      if (v === null) continue;
      if (sampled++ >= 1000) break;
      const k = valueKind(v);
      if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const [k, c] of counts) {
      if (sampled > 0 && c / Math.min(sampled, 1000) >= 0.5) {
        kinds.add(k);
        reasons.push(
          `${Math.round((100 * c) / Math.min(sampled, 1000))}% of sampled values look like ${k.replace('_', ' ')}s`,
        );
      }
    }
  }
  return { pii: kinds.size > 0, kinds: [...kinds], reasons };
}
