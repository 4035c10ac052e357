import type { Policy } from './index';

/**
 * Field-by-field difference of two policy documents, for `flowtune ops policies diff A B` and the
 * audit: every leaf (numbers, strings, a list as a whole) whose value differs, by its dotted path.
 */

export interface PolicyFieldChange {
  /** Dotted path, e.g. `minConfidence` or `routing.weights.sla`. */
  readonly path: string;
  /** Absent when the field exists only in `to`. */
  readonly from?: unknown;
  /** Absent when the field exists only in `from`. */
  readonly to?: unknown;
}

/**
 * The leaves that differ between `from` and `to`, sorted by path; the version id is left out
 * (it always differs and says nothing about behaviour).
 *
 * @example
 * diffPolicies(DEFAULT_POLICY, { ...DEFAULT_POLICY, version: 'v2', minConfidence: 0.4 });
 * // [{ path: 'minConfidence', from: 0, to: 0.4 }]
 */
export function diffPolicies(from: Policy, to: Policy): PolicyFieldChange[] {
  const left = leaves(from);
  const right = leaves(to);
  const paths = [...new Set([...left.keys(), ...right.keys()])].filter((path) => path !== 'version').sort();
  const changes: PolicyFieldChange[] = [];
  for (const path of paths) {
    const a = left.get(path);
    const b = right.get(path);
    if (a !== undefined && b !== undefined && a.text === b.text) continue;
    changes.push({
      path,
      ...(a === undefined ? {} : { from: a.value }),
      ...(b === undefined ? {} : { to: b.value }),
    });
  }
  return changes;
}

function leaves(value: unknown, prefix = '', out = new Map<string, { value: unknown; text: string }>()) {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, entry] of Object.entries(value))
      leaves(entry, prefix === '' ? key : `${prefix}.${key}`, out);
    return out;
  }
  // A list (automation categories) compares as a set of values: order carries no meaning there.
  const text = Array.isArray(value) ? JSON.stringify([...value].map(String).sort()) : JSON.stringify(value);
  out.set(prefix, { value, text });
  return out;
}
