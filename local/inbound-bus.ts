import type {
  PutEventsRequestEntry,
  PutEventsResponse,
  PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { EventForwarder, ForwardedEvent, IngressResponse } from '../lambdas/ingress/handler';
import { INBOUND_RULES } from '../lib/definitions';
import type { LocalEvent, LocalEventRouter } from './event-router';
import { LOCAL_EVENT_BUS_NAME } from './local-names';

/** The ingress function as the inbound bus's rule invokes it. */
export type LocalIngress = (event: LocalEvent) => Promise<IngressResponse>;

/** The ingress's EventForwarder on the local bus (what EventBridgeForwarder does on AWS). */
export class LocalEventForwarder implements EventForwarder {
  constructor(private readonly router: LocalEventRouter) {}

  async forward(event: ForwardedEvent): Promise<string> {
    const response = await this.router.putEvents([
      {
        EventBusName: LOCAL_EVENT_BUS_NAME,
        Source: event.source,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
        ...(event.time === undefined ? {} : { Time: event.time }),
        ...(event.resources.length === 0 ? {} : { Resources: [...event.resources] }),
      },
    ]);
    const entry = response.Entries?.[0];
    if (entry?.EventId === undefined) {
      throw new Error(
        `the local bus refused the forwarded ${event.detailType}: ${entry?.ErrorCode} ${entry?.ErrorMessage}`,
      );
    }
    return entry.EventId;
  }
}

/**
 * The local inbound bus: producers' PutEvents. It accepts exactly what the local bus accepts and
 * hands each accepted event to the real ingress handler (INBOUND_RULES), which pseudonymises it and
 * puts it on the local bus; the entry's EventId is the forwarded event's, so a producer (and the
 * workload ledger) finds its event in the audit trail. One simplification against AWS, where the
 * ingress runs asynchronously after PutEvents returned: here it runs within the call. An ingress
 * that fails is kept in the router's `deliveryFailures` (the rule's dead-letter queue), never lost.
 */
export class LocalInboundBus {
  constructor(
    private readonly router: LocalEventRouter,
    private readonly ingress: LocalIngress,
    private readonly now: () => number,
  ) {}

  async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResponse> {
    this.router.checkRequest(entries);
    const results: PutEventsResultEntry[] = [];
    for (const entry of entries) {
      const made = this.router.eventFrom(entry);
      if (!('event' in made)) {
        // Refused on the local bus itself, so it is recorded among its refused entries.
        const refused = await this.router.putEvents([entry]);
        results.push(refused.Entries?.[0] ?? { ErrorCode: made.errorCode, ErrorMessage: made.errorMessage });
        continue;
      }
      try {
        const { forwardedEventId } = await this.ingress(made.event);
        results.push({ EventId: forwardedEventId });
      } catch (error) {
        this.router.deliveryFailures.push({
          ruleId: INBOUND_RULES.inboundToIngress.id,
          target: INBOUND_RULES.inboundToIngress.target,
          event: made.event,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          attempts: 1,
          at: this.now(),
        });
        results.push({ EventId: made.event.id });
      }
    }
    return {
      FailedEntryCount: results.filter((result) => result.ErrorCode !== undefined).length,
      Entries: results,
    };
  }
}
