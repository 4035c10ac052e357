import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import type { PersonalData } from '../../domain/personal-data';
import { sharedEventBridgeClient } from '../shared/aws-clients';
import { loadEnv } from '../shared/env';
import { EventPublishError } from '../shared/eventbridge-event-publisher';
import {
  type InvocationContext,
  type Telemetry,
  telemetryFor,
  withInvocation,
} from '../shared/observability';
import {
  builtWithPseudonymKey,
  type Pseudonymiser,
  personalDataFromEnv,
  pseudonymiseDetail,
} from '../shared/pseudonymise';

const FUNCTION = 'ingress';

/** A producer's event as it goes on to Flowtune's bus: the same source, type and time, its detail pseudonymised. */
export interface ForwardedEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  /** The producer's event time, so Flowtune's handlers see when it happened, not when it was forwarded. */
  readonly time?: Date;
  readonly resources: readonly string[];
}

/** Puts a forwarded event on Flowtune's bus and returns its event id there. */
export interface EventForwarder {
  forward(event: ForwardedEvent): Promise<string>;
}

/**
 * What the inbound bus delivers. Deliberately loose: only what forwarding needs; the detail is
 * judged by the handler behind Flowtune's bus (intake, completion, agent status), which records a
 * rejection with its reason, so nothing malformed is dropped here.
 */
const InboundEvent = z.object({
  source: z.string().min(1),
  'detail-type': z.string().min(1),
  detail: z.unknown(),
  time: z.string().optional(),
  resources: z.array(z.string()).optional(),
});

export interface IngressDeps {
  readonly forwarder: EventForwarder;
  readonly pseudonymise: Pseudonymiser;
  /** What in a detail is personal data. @default DEFAULT_PERSONAL_DATA */
  readonly personalData?: PersonalData;
  readonly telemetry?: Telemetry;
}

export interface IngressResponse {
  /** The event's id on Flowtune's bus. */
  readonly forwardedEventId: string;
}

export type IngressHandler = (event: unknown, context?: InvocationContext) => Promise<IngressResponse>;

/**
 * Inbound bus → Flowtune's bus, personal data pseudonymised on the way (docs/reliability.md,
 * "Personal data"): what the archive, the queues, the tables and every handler behind the bus
 * receive already carries pseudonyms only. A failure throws, so the asynchronous invocation is
 * retried and, after its retries, kept in the asynchronous-failure queue.
 *
 * @example
 * await handler({ source: 'helpdesk', 'detail-type': 'WorkItemCreated', detail: { id: 'T-1', customerId: 'cust-42', ... } });
 * // Flowtune's bus receives { ..., customerId: 'psn_…' }
 */
export function createIngressHandler(deps: IngressDeps): IngressHandler {
  const telemetry = deps.telemetry ?? telemetryFor(FUNCTION);
  return (event, context) =>
    withInvocation(telemetry, context, async () => {
      const parsed = InboundEvent.safeParse(event);
      if (!parsed.success) {
        // The inbound bus only ever delivers events with these fields; anything else is a wiring fault.
        throw new TypeError(
          `ingress: not an EventBridge event (${parsed.error.issues[0]?.path.join('.') || 'event'}: ${parsed.error.issues[0]?.message})`,
        );
      }
      const inbound = parsed.data;
      const time = inbound.time === undefined ? Number.NaN : Date.parse(inbound.time);
      const forwardedEventId = await deps.forwarder.forward({
        source: inbound.source,
        detailType: inbound['detail-type'],
        detail: pseudonymiseDetail(inbound.detail, deps.pseudonymise, deps.personalData),
        ...(Number.isFinite(time) ? { time: new Date(time) } : {}),
        resources: inbound.resources ?? [],
      });
      telemetry.logger.info('forwarded', { detailType: inbound['detail-type'], forwardedEventId });
      return { forwardedEventId };
    });
}

/** EventForwarder on an EventBridge bus; a refused entry throws, so the invocation is retried. */
export class EventBridgeForwarder implements EventForwarder {
  constructor(
    private readonly options: { readonly client: EventBridgeClient; readonly eventBusName: string },
  ) {}

  async forward(event: ForwardedEvent): Promise<string> {
    const result = await this.options.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.options.eventBusName,
            Source: event.source,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            ...(event.time === undefined ? {} : { Time: event.time }),
            ...(event.resources.length === 0 ? {} : { Resources: [...event.resources] }),
          },
        ],
      }),
    );
    const entry = result.Entries?.[0];
    if ((result.FailedEntryCount ?? 0) > 0 || entry?.EventId === undefined) {
      throw new EventPublishError(
        `EventBridge refused the forwarded ${event.detailType}: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
    return entry.EventId;
  }
}

/** AWS resources this function uses (names in ENV). */
const resourceEnv = ['eventBusName'] as const;
/** Everything the CDK wiring must provide. */
export const requiredEnv = [...resourceEnv, 'pseudonymKeySecretId'] as const;

/** The deployed entry point: ports built from the environment once, at the first invocation. */
export const handler: IngressHandler = builtWithPseudonymKey(FUNCTION, (pseudonymise) => {
  const telemetry = telemetryFor(FUNCTION);
  const env = loadEnv(FUNCTION, resourceEnv);
  return createIngressHandler({
    forwarder: new EventBridgeForwarder({
      client: sharedEventBridgeClient(telemetry.tracer),
      eventBusName: env.eventBusName,
    }),
    pseudonymise,
    personalData: personalDataFromEnv(),
    telemetry,
  });
});
