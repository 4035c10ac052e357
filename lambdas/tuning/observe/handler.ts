import { EventEnvelope, FLOWTUNE_SOURCE, validateDetail } from '../../../domain/events';
import { armKey, intendedArm } from '../../../domain/tuning';
import { loadEnv } from '../../shared/env';
import { builtOnFirstCall, liveInstanceStore } from '../../shared/live-ports';
import { emitMetric, METRICS } from '../../shared/metrics-names';
import {
  correlate,
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../../shared/observability';
import { type Clock, type InstanceStore, systemClock } from '../../shared/ports';
import { liveTuningStore } from '../../shared/tuning-live';
import type { TuningStore } from '../../shared/tuning-store';

const FUNCTION = 'tuning-observe';

export interface ObserveDeps {
  readonly tuning: TuningStore;
  readonly instances: InstanceStore;
  /** Bounds producers' timestamps (see TIME_BOUNDS). @default the system clock */
  readonly clock?: Clock;
  readonly telemetry?: Telemetry;
}

export interface ObserveResponse {
  /** recorded: counted; duplicate: already counted; ignored: nothing the loop can learn from. */
  readonly status: 'recorded' | 'duplicate' | 'ignored';
  readonly reason?: string;
}

export type ObserveHandler = (event: unknown, context?: InvocationContext) => Promise<ObserveResponse>;

/**
 * Feeds the tuning loop's observation buckets from the bus: each WorkItemCreated is an arrival
 * (category mix, arrival rate, required skills); each WorkItemCompleted is a completion (handling
 * time against the prediction the item was routed with, quality signals, the confidence of the
 * decision as Score stored it) and an SLA outcome counted in the experiment arm the item belonged to. Counted once per item, whatever the
 * redeliveries. Invalid events are ignored here: intake and completion record those.
 *
 * It also keeps the work in progress the cycle's residual test reads: Flowtune's own
 * WorkItemRouted is an item's start (category from the instance, the prediction it was routed
 * with; a re-route replaces it), and a completion, a cancellation or Flowtune's WorkItemEscalated
 * is its end.
 *
 * @example
 * await handler({ 'detail-type': 'WorkItemCompleted', source: 'helpdesk', detail: { id: 'TCK-1', ... } });
 */
export function createObserveHandler(deps: ObserveDeps): ObserveHandler {
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  const { logger, metrics } = telemetry;
  const clock = deps.clock ?? systemClock;

  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const now = clock.now();
      const envelope = EventEnvelope.safeParse(event);
      if (!envelope.success) return { status: 'ignored', reason: 'not an EventBridge event' };
      const detailType = envelope.data['detail-type'];
      const fromFlowtune = envelope.data.source === FLOWTUNE_SOURCE;

      if (detailType === 'WorkItemRouted' && fromFlowtune) {
        const routed = validateDetail('WorkItemRouted', envelope.data.detail);
        if (!routed.ok) return { status: 'ignored', reason: `${routed.field}: ${routed.reason}` };
        const routing = routed.value;
        correlate(telemetry, routing.id);
        if (!(routing.predictedHandlingSeconds > 0)) {
          return { status: 'ignored', reason: 'no predicted handling time to judge the running item by' };
        }
        const instance = await deps.instances.get(routing.id);
        if (instance === undefined || instance.category === '') {
          return { status: 'ignored', reason: 'no instance record: the item was never scored' };
        }
        const started = await deps.tuning.recordStart({
          itemId: routing.id,
          category: instance.category,
          startedAt: Date.parse(routing.routedAt),
          predictedSeconds: routing.predictedHandlingSeconds,
          attempt: routing.attempt,
        });
        return started === 'recorded'
          ? { status: 'recorded' }
          : { status: 'duplicate', reason: 'this or a later start is stored, or the item ended' };
      }

      if (
        (detailType === 'WorkItemEscalated' && fromFlowtune) ||
        (detailType === 'WorkItemCancelled' && !fromFlowtune)
      ) {
        // Out of the assignee's hands: no longer running, and nothing to learn about handling time.
        const ended =
          detailType === 'WorkItemEscalated'
            ? validateDetail('WorkItemEscalated', envelope.data.detail)
            : validateDetail('WorkItemCancelled', envelope.data.detail, { now });
        if (!ended.ok) return { status: 'ignored', reason: `${ended.field}: ${ended.reason}` };
        const end = ended.value;
        correlate(telemetry, end.id);
        const at = Date.parse('escalatedAt' in end ? end.escalatedAt : end.cancelledAt);
        const status = await deps.tuning.recordEnd(end.id, at);
        return { status: status === 'recorded' ? 'recorded' : 'duplicate' };
      }
      if (fromFlowtune) return { status: 'ignored', reason: `${detailType} from ${FLOWTUNE_SOURCE}` };

      const { bucketSeconds } = await deps.tuning.readConfig();

      if (detailType === 'WorkItemCreated') {
        const created = validateDetail('WorkItemCreated', envelope.data.detail, { now });
        if (!created.ok) return { status: 'ignored', reason: `${created.field}: ${created.reason}` };
        const item = created.value;
        correlate(telemetry, item.id);
        const status = await deps.tuning.record(
          {
            kind: 'arrival',
            at: Date.parse(item.createdAt),
            category: item.category,
            requiredSkills: item.requiredSkills,
          },
          `${item.id}#arrival`,
          bucketSeconds,
        );
        emitMetric(metrics, METRICS.tuningObservations, status === 'recorded' ? 1 : 0);
        return { status };
      }

      if (detailType !== 'WorkItemCompleted')
        return { status: 'ignored', reason: `detail-type ${detailType}` };
      const completed = validateDetail('WorkItemCompleted', envelope.data.detail, { now });
      if (!completed.ok) return { status: 'ignored', reason: `${completed.field}: ${completed.reason}` };
      const completion = completed.value;
      correlate(telemetry, completion.id);
      const instance = await deps.instances.get(completion.id);
      if (instance === undefined || instance.category === '') {
        return { status: 'ignored', reason: 'no instance record: the item was never scored' };
      }
      const completedAt = Date.parse(completion.completedAt);
      await deps.tuning.recordEnd(completion.id, completedAt);
      const startedAt =
        completion.startedAt === undefined
          ? (instance.assignedAt ?? completedAt)
          : Date.parse(completion.startedAt);
      const observedSeconds = Math.max(0, (completedAt - startedAt) / 1000);
      const recorded = await deps.tuning.record(
        {
          kind: 'completion',
          at: completedAt,
          category: instance.category,
          agentId: completion.handledBy,
          observedSeconds,
          // Abandoned work says nothing about how long handling takes.
          ...(completion.outcome === 'abandoned' || instance.predictedHandlingSeconds === undefined
            ? {}
            : { predictedSeconds: instance.predictedHandlingSeconds }),
          reopened: completion.quality.reopened,
          rework: completion.quality.rework,
          firstTimeResolution: completion.quality.firstTimeResolution,
        },
        `${completion.id}#completion`,
        bucketSeconds,
      );
      // The confidence of the decision, counted when its item completes: the completion bucket is
      // one the next cycle still reads, where the scoring time's bucket may be processed already.
      if (instance.confidence !== undefined) {
        await deps.tuning.record(
          { kind: 'decision', at: completedAt, confidence: instance.confidence },
          `${completion.id}#decision`,
          bucketSeconds,
        );
      }
      // By intent to treat: the arm is recomputed from the item id and its creation time with the
      // very function the dispatcher routed it by (intendedArm), so the two agree on every item.
      const experiment = await deps.tuning.readExperiment();
      const arm = armKey(
        experiment?.experimentId,
        intendedArm({ itemId: completion.id, createdAt: instance.createdAt }, experiment),
      );
      await deps.tuning.record(
        { kind: 'outcome', at: completedAt, arm, met: completedAt <= instance.slaDueAt },
        `${completion.id}#outcome`,
        bucketSeconds,
      );
      emitMetric(metrics, METRICS.tuningObservations, recorded === 'recorded' ? 1 : 0);
      logger.info('completion observed', { observedSeconds, arm, status: recorded });
      return { status: recorded };
    });
}

/** Environment this function reads (names in ENV); the CDK wiring must provide each. */
export const requiredEnv = ['featuresTable', 'instancesTable'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: ObserveHandler = builtOnFirstCall(() => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, requiredEnv);
  return createObserveHandler({
    tuning: liveTuningStore(env, telemetry.tracer),
    instances: liveInstanceStore(env, telemetry.tracer),
    telemetry,
  });
});
