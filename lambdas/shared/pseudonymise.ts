import { createHmac } from 'node:crypto';
import { ENV } from '../../lib/definitions/functions';
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

/**
 * HMAC-SHA256 of the value under `key`, base64url, truncated to 128 bits: enough to keep
 * customers apart, and without the key the raw id cannot be recovered or confirmed by guessing.
 *
 * @example
 * const pseudonymise = createPseudonymiser(key);
 * pseudonymise('cust-42'); // 'psn_3q2-7wE...'
 */
export function createPseudonymiser(key: string): Pseudonymiser {
  if (key.length < 32) throw new EnvironmentError(`${ENV.pseudonymKey} must be at least 32 characters`);
  return (value) => PREFIX + createHmac('sha256', key).update(value, 'utf8').digest('base64url').slice(0, 22);
}

/**
 * The pseudonymiser for this process: PSEUDONYM_KEY when set; the local key only when the
 * environment says local (FLOWTUNE_LOCAL or NODE_ENV); otherwise a cold-start failure.
 */
export function pseudonymiserFromEnv(
  functionName: string,
  source: Readonly<Record<string, string | undefined>> = process.env,
): Pseudonymiser {
  if (source[ENV.pseudonymKey] === undefined && isLocalRuntime(source)) {
    return createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  }
  return createPseudonymiser(loadEnv(functionName, ['pseudonymKey'], source).pseudonymKey);
}

/** Field names whose values are personal data wherever they appear in an input. */
const PERSONAL_FIELDS = new Set(['customerId', 'email', 'phone', 'customerName']);

/**
 * A copy of an arbitrary (possibly malformed) input with every personal field replaced by its
 * pseudonym, so audit records keep what is needed to reconstruct a decision and no more.
 */
export function pseudonymiseInputs(value: unknown, pseudonymise: Pseudonymiser, depth = 0): unknown {
  if (depth > 8) return '(truncated)';
  if (Array.isArray(value)) return value.map((entry) => pseudonymiseInputs(entry, pseudonymise, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [field, entry] of Object.entries(value)) {
    if (PERSONAL_FIELDS.has(field) && (typeof entry === 'string' || typeof entry === 'number')) {
      out[field] = pseudonymise(String(entry));
    } else {
      out[field] = pseudonymiseInputs(entry, pseudonymise, depth + 1);
    }
  }
  return out;
}
