import { createHmac } from 'node:crypto';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import {
  DEFAULT_PERSONAL_DATA_RULES,
  PersonalData,
  PersonalDataRules,
  pseudonymiseShapes,
} from '../../domain/personal-data';
import { ENV, PERSONAL_DATA_ENV } from '../../lib/definitions/functions';
import { EnvironmentError, isLocalRuntime, loadEnv } from './env';

/** Maps a personal identifier to a stable keyed pseudonym (same input, same key → same output). */
export type Pseudonymiser = (value: string) => string;

/**
 * Used only on developer machines and in tests: a pseudonym made with a published key is no
 * protection, so a deployed function refuses to start without its own key.
 */
export const LOCAL_PSEUDONYM_KEY = 'flowtune-local-only-pseudonym-key-never-use-in-production';

/** Prefix that marks a value as a pseudonym, so nobody mistakes it for the raw identifier. */
const PREFIX = 'psn_';

/** What a pseudonym looks like: the prefix and 22 base64url characters (128 bits). */
const PSEUDONYM = /^psn_[A-Za-z0-9_-]{22}$/;

/** True for a value this module produced (or one shaped exactly like it). */
export function isPseudonym(value: string): boolean {
  return PSEUDONYM.test(value);
}

/**
 * HMAC-SHA256 of the value under `key`, base64url, truncated to 128 bits: enough to keep
 * customers apart, and without the key the raw id cannot be recovered or confirmed by guessing.
 * Idempotent: a pseudonym is returned unchanged, so an identifier replaced at the edge (intake)
 * keeps the same pseudonym when a later step (validate) pseudonymises it again.
 *
 * @example
 * const pseudonymise = createPseudonymiser(key);
 * pseudonymise('cust-42'); // 'psn_3q2-7wE...'
 * pseudonymise(pseudonymise('cust-42')) === pseudonymise('cust-42'); // true
 */
export function createPseudonymiser(key: string): Pseudonymiser {
  if (key.length < 32) throw new EnvironmentError('The pseudonym key must be at least 32 characters');
  return (value) =>
    isPseudonym(value)
      ? value
      : PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * How long a warm function keeps the pseudonym key before reading its secret again (s): after a
 * planned re-keying every function uses the new key within this time.
 */
export const PSEUDONYM_KEY_MAX_AGE_SECONDS = 300;

/** Where a function's pseudonym key comes from. */
export interface PseudonymKeySource {
  /** Where the key is read from, for error messages (never the key). */
  readonly location: string;
  /** The current key. */
  current(): Promise<string>;
}

/**
 * The pseudonym key from Secrets Manager, read at run time through Powertools Parameters' cache
 * (never from the environment, where whoever may read the function's configuration would see
 * it): a warm container reads the secret at most every `maxAgeSeconds`.
 *
 * @example
 * const source = new SecretsManagerPseudonymKey('arn:aws:secretsmanager:...:secret:PseudonymKey-abc');
 * createPseudonymiser(await source.current());
 */
export class SecretsManagerPseudonymKey implements PseudonymKeySource {
  constructor(
    private readonly secretArn: string,
    private readonly maxAgeSeconds = PSEUDONYM_KEY_MAX_AGE_SECONDS,
  ) {}

  get location(): string {
    return `the secret ${this.secretArn}`;
  }

  async current(): Promise<string> {
    const value = await getSecret(this.secretArn, { maxAge: this.maxAgeSeconds });
    if (typeof value !== 'string') {
      throw new EnvironmentError(
        `${this.location} holds ${value === undefined ? 'no value' : 'a binary value'}; it must hold the pseudonym key as text (at least 32 characters).`,
      );
    }
    return value;
  }
}

/**
 * The key source for this process: the secret named by PSEUDONYM_KEY_SECRET_ID; the published
 * local key only when the environment says local (FLOWTUNE_LOCAL or NODE_ENV); otherwise a
 * cold-start failure naming the variable.
 */
export function pseudonymKeySourceFromEnv(
  functionName: string,
  source: Readonly<Record<string, string | undefined>> = process.env,
): PseudonymKeySource {
  if (source[ENV.pseudonymKeySecretId] === undefined && isLocalRuntime(source)) {
    return { location: 'the local development key', current: async () => LOCAL_PSEUDONYM_KEY };
  }
  return new SecretsManagerPseudonymKey(
    loadEnv(functionName, ['pseudonymKeySecretId'], source).pseudonymKeySecretId,
  );
}

/**
 * A deployed entry point whose handler pseudonymises with the current key: the handler (ports
 * and all) is built once, at the first invocation, with a pseudonymiser that delegates to the
 * current key; before each invocation the key is read (from the cache when warm), so after a
 * re-keying the next invocations use the new one. The handlers themselves stay synchronous.
 *
 * @example
 * export const handler = builtWithPseudonymKey('validate', (pseudonymise) => createValidateHandler({ pseudonymise }));
 */
export function builtWithPseudonymKey<A extends unknown[], R>(
  functionName: string,
  build: (pseudonymise: Pseudonymiser) => (...args: A) => Promise<R>,
  keySource: () => PseudonymKeySource = () => pseudonymKeySourceFromEnv(functionName),
): (...args: A) => Promise<R> {
  let source: PseudonymKeySource | undefined;
  let current: { readonly key: string; readonly pseudonymise: Pseudonymiser } | undefined;
  let live: ((...args: A) => Promise<R>) | undefined;
  const delegate: Pseudonymiser = (value) => {
    if (current === undefined) throw new Error(`${functionName}: pseudonymised before its key was read`);
    return current.pseudonymise(value);
  };
  // async, so a missing variable or an unreadable secret rejects like any other invocation error.
  return async (...args) => {
    source ??= keySource();
    const key = await source.current();
    if (current?.key !== key) current = { key, pseudonymise: createPseudonymiser(key) };
    live ??= build(delegate);
    return live(...args);
  };
}

/**
 * The rules of this deployment: PERSONAL_DATA_RULES (JSON, set by the CDK prop `personalData`)
 * when present, else the default. A malformed value fails the cold start, naming the problem.
 */
export function personalDataFromEnv(
  source: Readonly<Record<string, string | undefined>> = process.env,
): PersonalData {
  const raw = source[PERSONAL_DATA_ENV];
  if (raw === undefined || raw === '') return DEFAULT_PERSONAL_DATA_RULES;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${PERSONAL_DATA_ENV} must be JSON ({ "fields": [...], "scanned": [...] }); got ${raw}`);
  }
  const parsed = PersonalDataRules.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${PERSONAL_DATA_ENV} ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`);
  }
  return new PersonalData(parsed.data);
}

/** Field names whose values are personal data wherever they appear by default (DEFAULT_PERSONAL_DATA). */
export const PERSONAL_FIELDS: ReadonlySet<string> = new Set(['customerId', 'email', 'phone', 'customerName']);

/** Deeper than any detail Flowtune accepts: nothing below is kept. */
const MAX_DEPTH = 32;

/**
 * A copy of an arbitrary (possibly malformed) event detail with its personal data pseudonymised
 * by `personal` (default: DEFAULT_PERSONAL_DATA): a personal field's value (string or number)
 * becomes its pseudonym, every scanned string loses its email- and phone-shaped parts to their
 * pseudonyms. Idempotent.
 *
 * @example
 * pseudonymiseDetail({ customerId: 'cust-42', note: 'call +44 20 7946 0958' }, p); // { customerId: 'psn_…', note: 'call psn_…' }
 */
export function pseudonymiseDetail(
  value: unknown,
  pseudonymise: Pseudonymiser,
  personal: PersonalData = DEFAULT_PERSONAL_DATA_RULES,
  path: readonly string[] = [],
): unknown {
  if (path.length > MAX_DEPTH) return null;
  if (personal.isField(path) && (typeof value === 'string' || typeof value === 'number')) {
    return pseudonymise(String(value));
  }
  if (typeof value === 'string') {
    return personal.isScanned(path) ? pseudonymiseShapes(value, pseudonymise) : value;
  }
  if (Array.isArray(value)) {
    return value.map((entry, index) =>
      pseudonymiseDetail(entry, pseudonymise, personal, [...path, String(index)]),
    );
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [field, entry] of Object.entries(value)) {
    out[field] = pseudonymiseDetail(entry, pseudonymise, personal, [...path, field]);
  }
  return out;
}

/**
 * A copy of an arbitrary (possibly malformed) input with its personal data pseudonymised, so
 * audit records keep what is needed to reconstruct a decision and no more (pseudonymiseDetail).
 */
export function pseudonymiseInputs(
  value: unknown,
  pseudonymise: Pseudonymiser,
  personal: PersonalData = DEFAULT_PERSONAL_DATA_RULES,
): unknown {
  return pseudonymiseDetail(value, pseudonymise, personal);
}

/** Longest personal value that is replaced by its pseudonym; longer ones are redacted at equal length. */
const PSEUDONYMISED_MAX_LENGTH = 256;

/**
 * For input that is still to be validated (the execution input, before Validate): personal fields
 * lose their values in a way that cannot change the verdict. A string of 1–256 characters becomes
 * its pseudonym (which every schema accepts where it accepted the original); any other value keeps
 * its JSON type and length but carries nothing (an empty or over-long string is redacted to the same
 * length, a number becomes 0, a boolean false, an array or object empty), so Validate rejects what it
 * would have rejected, naming the same field and reason. Scanned strings lose their email- and
 * phone-shaped parts to pseudonyms (a longer text only if a pseudonym is longer than the part).
 *
 * @example
 * pseudonymiseForValidation({ id: 'T-1', customerId: 'cust-42' }, pseudonymise); // { id: 'T-1', customerId: 'psn_…' }
 * pseudonymiseForValidation({ customerId: 42 }, pseudonymise); // { customerId: 0 }: still not a string
 */
export function pseudonymiseForValidation(
  value: unknown,
  pseudonymise: Pseudonymiser,
  personal: PersonalData = DEFAULT_PERSONAL_DATA_RULES,
  path: readonly string[] = [],
): unknown {
  // Deeper than any schema goes: nothing below can be valid, so nothing below is kept.
  if (path.length > MAX_DEPTH) return null;
  if (path.length > 0 && personal.isField(path)) return withoutPersonalData(value, pseudonymise);
  if (typeof value === 'string') {
    return personal.isScanned(path) ? pseudonymiseShapes(value, pseudonymise) : value;
  }
  if (Array.isArray(value))
    return value.map((entry, index) =>
      pseudonymiseForValidation(entry, pseudonymise, personal, [...path, String(index)]),
    );
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [field, entry] of Object.entries(value)) {
    out[field] = pseudonymiseForValidation(entry, pseudonymise, personal, [...path, field]);
  }
  return out;
}

function withoutPersonalData(value: unknown, pseudonymise: Pseudonymiser): unknown {
  if (typeof value === 'string') {
    return value.length >= 1 && value.length <= PSEUDONYMISED_MAX_LENGTH
      ? pseudonymise(value)
      : '#'.repeat(value.length);
  }
  if (typeof value === 'number') return 0;
  if (typeof value === 'boolean') return false;
  if (Array.isArray(value)) return [];
  if (value !== null && typeof value === 'object') return {};
  return value;
}

/**
 * An EventBridge event with its detail pseudonymised (pseudonymiseDetail); anything that is not
 * an object with a detail is returned as it is, for the handler to reject.
 */
export function withPseudonymisedDetail(
  event: unknown,
  pseudonymise: Pseudonymiser,
  personal: PersonalData = DEFAULT_PERSONAL_DATA_RULES,
): unknown {
  if (typeof event !== 'object' || event === null || Array.isArray(event) || !('detail' in event))
    return event;
  return {
    ...event,
    detail: pseudonymiseDetail((event as { detail: unknown }).detail, pseudonymise, personal),
  };
}
