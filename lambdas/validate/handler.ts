import { z } from 'zod';
import { SLA_CLASS_TARGET_SECONDS, validateDetail } from '../../domain/events';
import type { ValidatedItem, ValidationResult } from '../../domain/process';
import { emitMetric, METRICS } from '../shared/metrics-names';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import { type Clock, systemClock } from '../shared/ports';
import { builtWithPseudonymKey, type Pseudonymiser } from '../shared/pseudonymise';
import { auditExpiresAt } from '../shared/table-layout';

const FUNCTION = 'validate';

export interface ValidateDeps {
  readonly pseudonymise: Pseudonymiser;
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

/** The Validate Item task's Parameters: `{ detailType, detail }` from the execution input. */
export const ValidateInput = z.object({ detailType: z.string(), detail: z.unknown() });

export type ValidateHandler = (event: unknown, context?: InvocationContext) => Promise<ValidationResult>;

/**
 * Validate Item: parses a WorkItemCreated detail, applies defaults, resolves the absolute SLA
 * due time (slaDueAt, or createdAt + the SLA class target) and replaces customerId with a keyed
 * pseudonym. Never throws for bad input: it returns `ok: false` naming the first bad field, and
 * the state machine records and announces the rejection.
 *
 * @example
 * await handler({ detailType: 'WorkItemCreated', detail }); // { ok: true, item: {...}, auditExpiresAt: '1797...' }
 */
export function createValidateHandler(deps: ValidateDeps): ValidateHandler {
  const clock = deps.clock ?? systemClock;
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const expiresAt = String(auditExpiresAt(clock.now()));
      const rejected = (field: string, reason: string, issues = [{ field, reason }]): ValidationResult => {
        emitMetric(telemetry.metrics, METRICS.itemsInvalid, 1);
        telemetry.logger.warn('work item invalid', { field, reason });
        return { ok: false, field, reason, issues, auditExpiresAt: expiresAt };
      };

      const input = ValidateInput.safeParse(event);
      if (!input.success) return rejected('detailType', 'the task input must be { detailType, detail }');
      if (input.data.detailType !== 'WorkItemCreated') {
        return rejected('detailType', `expected "WorkItemCreated", got "${input.data.detailType}"`);
      }
      const result = validateDetail('WorkItemCreated', input.data.detail, { now: clock.now() });
      if (!result.ok) return rejected(result.field, result.reason, result.issues);

      const detail = result.value;
      const createdAt = Date.parse(detail.createdAt);
      const slaDueAt =
        detail.slaDueAt !== undefined
          ? Date.parse(detail.slaDueAt)
          : createdAt + SLA_CLASS_TARGET_SECONDS[detail.slaClass ?? 'P3'] * 1000;
      const item: ValidatedItem = {
        id: detail.id,
        kind: detail.kind,
        channel: detail.channel,
        category: detail.category,
        requiredSkills: detail.requiredSkills.map(({ skill, minProficiency }) => ({ skill, minProficiency })),
        priority: detail.priority,
        customerTier: detail.customerTier,
        // Normalised to UTC so every later step compares like with like.
        createdAt: new Date(createdAt).toISOString(),
        slaDueAt: new Date(slaDueAt).toISOString(),
        ...(detail.customerId === undefined ? {} : { customerRef: deps.pseudonymise(detail.customerId) }),
        attributes: detail.attributes,
        ...(detail.tenant === undefined ? {} : { tenant: detail.tenant }),
      };
      emitMetric(telemetry.metrics, METRICS.itemsValidated, 1);
      return { ok: true, item, auditExpiresAt: expiresAt };
    });
}

/** Environment this function reads (names in ENV): only where the pseudonym key is. */
export const requiredEnv = ['pseudonymKeySecretId'] as const;

/** The deployed entry point: built once, at the first invocation, pseudonymising with the current key. */
export const handler: ValidateHandler = builtWithPseudonymKey(FUNCTION, (pseudonymise) =>
  createValidateHandler({ pseudonymise, telemetry: telemetryFor(FUNCTION) }),
);
