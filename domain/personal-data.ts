import { z } from 'zod';

/**
 * Which parts of an inbound event are personal data, as JSON paths over its `detail`
 * (docs/reliability.md, "Personal data"). A small, strict subset of JSONPath, enough to name a
 * field anywhere or exactly:
 *
 * - `$` the detail itself; `.name` a child; `.*` every child (of an object or array);
 * - `..name` a field of that name at any depth below.
 *
 * `fields`: the whole value is personal (replaced by its pseudonym). `scanned`: every string at or
 * below the path is searched for email- and phone-shaped text, and each match is replaced by its
 * pseudonym in place (free text, `attributes`, unknown fields such as `customerEmail`).
 */

const JSON_PATH = /^\$((\.\.|\.)([A-Za-z0-9_-]+|\*))*$/;

export const JsonPath = z
  .string()
  .regex(JSON_PATH, 'must be a JSON path such as $..customerId, $.attributes.email or $.attributes.*');

export const PersonalDataRules = z.object({
  fields: z.array(JsonPath).max(100),
  scanned: z.array(JsonPath).max(100),
});
export type PersonalDataRules = z.infer<typeof PersonalDataRules>;

/**
 * The default: the identifiers Flowtune knows by name, anywhere in the detail, and every string of
 * the detail scanned for email- and phone-shaped values (attributes and free text included).
 */
export const DEFAULT_PERSONAL_DATA: PersonalDataRules = {
  fields: ['$..customerId', '$..email', '$..phone', '$..customerName'],
  scanned: ['$'],
};

type Segment =
  | { readonly kind: 'child'; readonly name: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'descendant'; readonly name: string };

function parse(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const match of path.slice(1).matchAll(/(\.\.|\.)([A-Za-z0-9_-]+|\*)/g)) {
    const [, dots, name = ''] = match;
    if (dots === '..') segments.push({ kind: 'descendant', name });
    else segments.push(name === '*' ? { kind: 'any' } : { kind: 'child', name });
  }
  return segments;
}

/** True when the concrete `path` (keys from the detail down) is exactly what `segments` names. */
function matches(segments: readonly Segment[], path: readonly string[]): boolean {
  const [head, ...rest] = segments;
  if (head === undefined) return path.length === 0;
  if (head.kind === 'descendant') {
    // `..name`: `name` at this level or any deeper one.
    for (let depth = 0; depth < path.length; depth += 1) {
      if (path[depth] === head.name && matches(rest, path.slice(depth + 1))) return true;
    }
    return false;
  }
  const [key, ...below] = path;
  if (key === undefined) return false;
  return (head.kind === 'any' || head.name === key) && matches(rest, below);
}

/** Email-shaped text. */
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** Phone-shaped candidates (kept only with 9–15 digits and not a date; see `isPhone`). */
const PHONE_CANDIDATE = /(?<![\w@])\+?\(?\d[\d ().-]{7,}\d(?![\w@])/g;
/** Text Flowtune itself produced, never to be pseudonymised again. */
const PSEUDONYM_TOKEN = /psn_[A-Za-z0-9_-]{22}/g;

function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, '').length;
  if (digits < 9 || digits > 15) return false;
  if (/^\d{4}-\d{2}-\d{2}/.test(candidate)) return false;
  // A bare run of digits is an order or account number as often as a phone, and digits joined by
  // dashes alone are how item ids look: only a `+`, or spaces, dots or parentheses between digit
  // groups make a phone.
  return candidate.startsWith('+') || /\d[ ().-]*[ ().][ ().-]*\d/.test(candidate);
}

/**
 * `text` with every email- and phone-shaped part replaced by `pseudonymise(part)`. Pseudonyms
 * already in the text are left alone, so it is idempotent.
 *
 * @example
 * pseudonymiseShapes('call +44 20 7946 0958 or ana@example.org', p); // 'call psn_… or psn_…'
 */
export function pseudonymiseShapes(text: string, pseudonymise: (value: string) => string): string {
  let out = '';
  let last = 0;
  for (const token of text.matchAll(PSEUDONYM_TOKEN)) {
    out += replaceShapes(text.slice(last, token.index), pseudonymise) + token[0];
    last = token.index + token[0].length;
  }
  return out + replaceShapes(text.slice(last), pseudonymise);
}

function replaceShapes(text: string, pseudonymise: (value: string) => string): string {
  const emailsDone = text.replace(EMAIL, (email) => pseudonymise(email));
  // Phones are looked for only outside the pseudonyms the email pass just wrote.
  return emailsDone
    .split(/(psn_[A-Za-z0-9_-]{22})/)
    .map((part, index) =>
      index % 2 === 1
        ? part
        : part.replace(PHONE_CANDIDATE, (candidate) =>
            isPhone(candidate) ? pseudonymise(candidate) : candidate,
          ),
    )
    .join('');
}

/** Rules compiled once per process: which concrete paths are personal, which are scanned. */
export class PersonalData {
  private readonly fields: Segment[][];
  private readonly scanned: Segment[][];

  constructor(readonly rules: PersonalDataRules = DEFAULT_PERSONAL_DATA) {
    const parsed = PersonalDataRules.parse(rules);
    this.fields = parsed.fields.map(parse);
    this.scanned = parsed.scanned.map(parse);
  }

  /** True when the value at `path` is personal as a whole. */
  isField(path: readonly string[]): boolean {
    return this.fields.some((segments) => matches(segments, path));
  }

  /** True when strings at `path` are searched for email- and phone-shaped text. */
  isScanned(path: readonly string[]): boolean {
    for (let depth = 0; depth <= path.length; depth += 1) {
      const prefix = path.slice(0, depth);
      if (this.scanned.some((segments) => matches(segments, prefix))) return true;
    }
    return false;
  }
}

/** The default rules, compiled. */
export const DEFAULT_PERSONAL_DATA_RULES = new PersonalData();
