import { z } from 'zod';
import { PolicyChangeKindSchema } from '../events/tuning';
import { Policy } from '../policy';
import type { ApprovalSettings } from './config';

/**
 * Policy versions: every change the loop (or a person) makes is a new immutable version, stored
 * beside the active pointer (Features table, pk `POLICY`, sk `V#<version>`), so any decision can
 * be reconstructed from the version it recorded and any version can be rolled back to.
 */

export const PolicyChangeKind = PolicyChangeKindSchema;
export type PolicyChangeKind = z.infer<typeof PolicyChangeKind>;

export const PolicyVersionRecord = z.object({
  version: z.string().min(1),
  policy: Policy,
  parentVersion: z.string().min(1).optional(),
  kind: PolicyChangeKind,
  reason: z.string().min(1).max(2000),
  createdAt: z.iso.datetime({ offset: true }),
  /** `flowtune:tuning` or the person who approved it. */
  createdBy: z.string().min(1),
  experimentId: z.string().optional(),
});
export type PolicyVersionRecord = z.infer<typeof PolicyVersionRecord>;

const TUNED_SUFFIX = /\+t\d+$/;

/**
 * The version id of the loop's next change: the active version's stem with `+t<sequence>`, e.g.
 * `default-1+t7`; the sequence lives in the loop's state, so ids never repeat.
 *
 * @example
 * nextPolicyVersion('default-1+t6', 7); // 'default-1+t7'
 */
export function nextPolicyVersion(activeVersion: string, sequence: number): string {
  return `${activeVersion.replace(TUNED_SUFFIX, '')}+t${sequence}`;
}

export interface ChangeImpact {
  /** Field paths that differ (version excluded). */
  readonly changes: readonly string[];
  /** True when a person must approve the change before it applies. */
  readonly highImpact: boolean;
  readonly reasons: readonly string[];
}

function same(left: unknown, right: unknown): boolean {
  return JSON.stringify(sortKeys(left)) === JSON.stringify(sortKeys(right));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, entry]) => [key, sortKeys(entry)]),
    );
  }
  return value;
}

/**
 * What changes between two policies and whether the change is high-impact: a new routing
 * strategy or automated categories (when the settings say so), or a routing weight that moves by
 * more than `maxAutoWeightChange` of its value. Thresholds the loop moves inside their guardrails
 * are not high-impact; the guardrails are what made them safe to automate.
 *
 * @example
 * changeImpact(active, candidate, settings).highImpact; // true for a new routing strategy
 */
export function changeImpact(from: Policy, to: Policy, settings: ApprovalSettings): ChangeImpact {
  const changes: string[] = [];
  const reasons: string[] = [];
  for (const field of Object.keys(to) as (keyof Policy)[]) {
    if (field === 'version' || field === 'routing') continue;
    if (!same(from[field], to[field])) changes.push(field);
  }
  if (from.routing.strategy !== to.routing.strategy) {
    changes.push('routing.strategy');
    if (settings.strategyChangeNeedsApproval) {
      reasons.push(`routing strategy ${from.routing.strategy} → ${to.routing.strategy}`);
    }
  }
  const weightNames = new Set([...Object.keys(from.routing.weights), ...Object.keys(to.routing.weights)]);
  for (const name of [...weightNames].sort()) {
    const before = from.routing.weights[name];
    const after = to.routing.weights[name];
    if (before === after) continue;
    changes.push(`routing.weights.${name}`);
    const relative =
      before === undefined || after === undefined
        ? Number.POSITIVE_INFINITY
        : Math.abs(after - before) / Math.max(Math.abs(before), 1e-9);
    if (relative > settings.maxAutoWeightChange) {
      reasons.push(
        `weight ${name} ${before ?? 'default'} → ${after ?? 'default'} (more than ${Math.round(settings.maxAutoWeightChange * 100)}%)`,
      );
    }
  }
  if (changes.includes('automationCategories') && settings.strategyChangeNeedsApproval) {
    reasons.push('automated categories change');
  }
  return { changes, highImpact: reasons.length > 0, reasons };
}
