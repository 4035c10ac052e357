import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FLOWTUNE_SOURCE, type OutboundDetailType } from '../../domain/events';
import { validateOutbound } from './outbound-events';
import type { EventPublisher, OutboundDetail } from './ports';

/** Thrown when EventBridge accepted the call but not the entry. */
export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
}

export interface EventBridgePublisherOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
}

/** EventPublisher on the Flowtune bus; details are validated against their schema before sending. */
export class EventBridgeEventPublisher implements EventPublisher {
  constructor(private readonly options: EventBridgePublisherOptions) {}

  async publish<K extends OutboundDetailType>(detailType: K, detail: OutboundDetail<K>): Promise<void> {
    const validated = validateOutbound(detailType, detail);
    const result = await this.options.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.options.eventBusName,
            Source: FLOWTUNE_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(validated),
          },
        ],
      }),
    );
    // PutEvents reports per-entry failures in a successful response; they must not pass silently.
    if ((result.FailedEntryCount ?? 0) > 0) {
      const entry = result.Entries?.[0];
      throw new EventPublishError(
        `EventBridge refused ${detailType}: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
