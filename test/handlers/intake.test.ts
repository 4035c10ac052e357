import { describe, expect, it } from 'vitest';
import { unknownDetailTypeReason } from '../../domain/events';
import { ProcessInput } from '../../domain/process';
import { createIntakeHandler } from '../../lambdas/intake/handler';
import { createInMemoryPorts } from '../../lambdas/shared/in-memory';
import { createPseudonymiser, LOCAL_PSEUDONYM_KEY } from '../../lambdas/shared/pseudonymise';
import { loadEvent, sqsEvent, sqsRecord } from './support';

function setup() {
  const ports = createInMemoryPorts();
  const pseudonymise = createPseudonymiser(LOCAL_PSEUDONYM_KEY);
  const handler = createIntakeHandler({ ...ports, pseudonymise });
  return { ...ports, pseudonymise, handler };
}

describe('intake handler', () => {
  it('starts one execution named by the item id, with the process input the state machine expects', async () => {
    // Prepare
    const { handler, executions, audit, pseudonymise } = setup();
    const created = loadEvent('helpdesk/work-item-created');

    // Act
    const response = await handler(sqsEvent([created]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const input = executions.executions.get('HD-10428');
    expect(ProcessInput.parse(input)).toEqual({
      itemId: 'HD-10428',
      detailType: 'WorkItemCreated',
      source: 'helpdesk',
      eventId: '6f1c2a4e-8d3b-4c1e-9a77-2f0b5d8e1a01',
      receivedAt: '2026-11-20T09:00:00.000Z',
      // The customer id is pseudonymised before the execution starts (its input stays in Step Functions).
      detail: { ...created.detail, customerId: pseudonymise('cust-88213') },
      auditExpiresAt: expect.stringMatching(/^\d{10}$/),
      routing: { attempt: 1, excludedAgents: [] },
    });
    const [received] = await audit.listForItem('HD-10428');
    expect(received).toMatchObject({ kind: 'RECEIVED', actor: 'flowtune:intake' });
    expect(received?.recordKey).toBe(
      '2026-11-20T09:00:00.000Z#RECEIVED#6f1c2a4e-8d3b-4c1e-9a77-2f0b5d8e1a01',
    );
    expect(received?.inputs).not.toContain('cust-88213');
    expect(received?.inputs).toContain(pseudonymise('cust-88213'));
  });

  it('treats a second WorkItemCreated for the same id as a harmless duplicate', async () => {
    // Prepare
    const { handler, executions, audit, events } = setup();
    const created = loadEvent('helpdesk/work-item-created');
    const resent = { ...created, id: 'resent-by-producer', time: '2026-11-20T09:00:30Z' };
    await handler(sqsEvent([created]));

    // Act
    const response = await handler(sqsEvent([resent]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(executions.executions.size).toBe(1);
    const kinds = (await audit.listForItem('HD-10428')).map((record) => record.kind);
    expect(kinds).toEqual(['RECEIVED', 'DUPLICATE']);
    expect(events.published).toEqual([]);
  });

  it('records RECEIVED on the redelivery when the first delivery started the execution but lost its audit write', async () => {
    // Prepare
    const { handler, executions, audit } = setup();
    const created = loadEvent('helpdesk/work-item-created');
    const failingAudit = {
      append: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
      listForItem: audit.listForItem.bind(audit),
    };
    const firstDelivery = createIntakeHandler({ ...setup(), executions, audit: failingAudit });
    const failed = await firstDelivery(sqsEvent([created]));

    // Act
    const redelivered = await handler(sqsEvent([created]));

    // Assess
    expect(failed.batchItemFailures).toHaveLength(1);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(executions.executions.size).toBe(1);
    expect((await audit.listForItem('HD-10428')).map((record) => record.kind)).toEqual(['RECEIVED']);
  });

  it('rejects an unknown detail-type naming the detail-type field, and starts nothing', async () => {
    // Prepare
    const { handler, executions, audit, events } = setup();

    // Act
    const response = await handler(sqsEvent([loadEvent('helpdesk/work-item-reopened')]));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(executions.executions.size).toBe(0);
    expect(events.published).toEqual([
      {
        source: 'flowtune',
        detailType: 'WorkItemRejected',
        detail: {
          schemaVersion: '1',
          id: 'HD-10428',
          detailType: 'WorkItemReopened',
          field: 'detail-type',
          reason: unknownDetailTypeReason('WorkItemReopened'),
          issues: [{ field: 'detail-type', reason: unknownDetailTypeReason('WorkItemReopened') }],
          rejectedAt: '2026-11-20T09:04:00.000Z',
        },
      },
    ]);
    const [rejected] = await audit.listForItem('HD-10428');
    expect(rejected?.kind).toBe('REJECTED');
  });

  it('rejects a WorkItemCreated without an id naming `id`, recorded under unidentified#<eventId>', async () => {
    // Prepare
    const { handler, executions, audit, events, pseudonymise } = setup();

    // Act
    await handler(sqsEvent([loadEvent('helpdesk/work-item-created-missing-id')]));

    // Assess
    expect(executions.executions.size).toBe(0);
    expect(events.published[0]?.detail).toMatchObject({
      id: '(missing)',
      field: 'id',
      detailType: 'WorkItemCreated',
    });
    const [record] = await audit.listForItem('unidentified#0b7d9e2c-1f4a-4d6b-8c3e-5a9f1e2d3c02');
    expect(record).toMatchObject({ kind: 'REJECTED' });
    expect(JSON.parse(record?.details ?? '{}')).toMatchObject({ field: 'id' });
    expect(record?.inputs).toContain(pseudonymise('cust-1201'));
    expect(record?.inputs).not.toContain('cust-1201"');
  });

  it('rejects an id that cannot be an execution name, naming `id` and why', async () => {
    // Prepare
    const { handler, executions, events } = setup();

    // Act
    await handler(sqsEvent([loadEvent('helpdesk/work-item-created-invalid-id')]));

    // Assess
    expect(executions.executions.size).toBe(0);
    expect(events.published[0]?.detail).toMatchObject({
      id: 'HD/10429 (copy)',
      field: 'id',
      reason: expect.stringContaining('1-80 characters'),
    });
  });

  it('rejects a body that is not JSON under the SQS message id, without throwing', async () => {
    // Prepare
    const { handler, audit, events } = setup();
    const record = sqsRecord('{"detail-type": "WorkItemCreated", ');

    // Act
    const response = await handler({ Records: [record] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(events.published[0]?.detail).toMatchObject({ field: '(event)', detailType: '(unknown)' });
    expect(await audit.listForItem(`unidentified#${record.messageId}`)).toHaveLength(1);
  });

  it('reports only the record that failed transiently, so SQS redelivers just that one', async () => {
    // Prepare
    const { handler, executions } = setup();
    const failing = sqsRecord(loadEvent('helpdesk/work-item-created'));
    const healthy = sqsRecord(loadEvent('crm/work-item-created-lead'));
    executions.failNextStart(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const response = await handler({ Records: [failing, healthy] });

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
    expect([...executions.executions.keys()]).toEqual(['LEAD-55102']);
  });
});
