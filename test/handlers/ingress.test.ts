import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import {
  createIngressHandler,
  EventBridgeForwarder,
  type EventForwarder,
  type ForwardedEvent,
} from '../../lambdas/ingress/handler';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';

const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);

function recordingForwarder(): EventForwarder & { readonly forwarded: ForwardedEvent[] } {
  const forwarded: ForwardedEvent[] = [];
  return {
    forwarded,
    forward: async (event) => {
      forwarded.push(event);
      return `fwd-${forwarded.length}`;
    },
  };
}

describe('ingress', () => {
  it("forwards a producer's event with its personal data pseudonymised and its source, type, time and resources kept", async () => {
    // Prepare
    const forwarder = recordingForwarder();
    const handler = createIngressHandler({ forwarder, pseudonymise });

    // Act
    const response = await handler({
      id: 'in-1',
      source: 'helpdesk',
      'detail-type': 'WorkItemCreated',
      time: '2026-12-04T10:00:00Z',
      resources: ['arn:aws:helpdesk:ticket/T-1'],
      detail: {
        id: 'T-1',
        customerId: 'cust-42',
        attributes: { contact: 'ana@example.org', note: 'call +44 20 7946 0958' },
      },
    });

    // Assess
    expect(response).toEqual({ forwardedEventId: 'fwd-1' });
    expect(forwarder.forwarded).toEqual([
      {
        source: 'helpdesk',
        detailType: 'WorkItemCreated',
        time: new Date('2026-12-04T10:00:00Z'),
        resources: ['arn:aws:helpdesk:ticket/T-1'],
        detail: {
          id: 'T-1',
          customerId: pseudonymise('cust-42'),
          attributes: {
            contact: pseudonymise('ana@example.org'),
            note: `call ${pseudonymise('+44 20 7946 0958')}`,
          },
        },
      },
    ]);
  });

  it('forwards a malformed detail as it is (pseudonymised), for the handler behind the bus to reject with a reason', async () => {
    const forwarder = recordingForwarder();
    const handler = createIngressHandler({ forwarder, pseudonymise });

    await handler({ source: 'crm', 'detail-type': 'WorkItemCreated', detail: { id: 7, priority: 'urgent' } });

    expect(forwarder.forwarded[0]?.detail).toEqual({ id: 7, priority: 'urgent' });
    expect(forwarder.forwarded[0]?.time).toBeUndefined();
  });

  it('fails, so the invocation is retried and then dead-lettered, on anything that is not an EventBridge event', async () => {
    const handler = createIngressHandler({ forwarder: recordingForwarder(), pseudonymise });

    await expect(handler({ detail: {} })).rejects.toThrow(/not an EventBridge event \(source/);
  });

  it('fails when EventBridge refuses the forwarded entry, naming the error', async () => {
    const client = new EventBridgeClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    client.middlewareStack.add(
      () => async () => ({
        output: {
          FailedEntryCount: 1,
          Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
          $metadata: {},
        },
        response: {},
      }),
      { step: 'initialize', name: 'refuseEverything' },
    );
    const forwarder = new EventBridgeForwarder({ client, eventBusName: 'flowtune' });

    await expect(
      forwarder.forward({ source: 'crm', detailType: 'WorkItemCreated', detail: {}, resources: [] }),
    ).rejects.toThrow('EventBridge refused the forwarded WorkItemCreated: InternalFailure try again');
  });
});
