import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_TABLE,
  FUNCTIONS,
  INSTANCES_TABLE,
  PROJECT_ROOT,
  QUEUES,
  substitute,
  TABLES,
} from '../../lib/definitions';
import { type AslBindings, AslRunner, type LocalFunction } from '../../local/asl-runner';
import {
  createTables,
  type DynamoDbLocal,
  LOCAL_CREDENTIALS,
  startDynamoDbLocal,
  type TableNames,
} from '../../local/dynamodb-local';
import { LocalEventRouter } from '../../local/event-router';
import { LOCAL_EVENT_BUS_NAME, localFunctionArn, localQueueUrl } from '../../local/local-names';
import { LocalQueue } from '../../local/local-queue';
import { localProcessDefinition } from '../../local/process-definition';
import type { JsonValue } from '../../local/task-tokens';

const FIXTURE = readFileSync(join(PROJECT_ROOT, 'test/local/fixtures/bindings.asl.json'), 'utf8');
const VALIDATE_ARN = localFunctionArn({ id: 'TestValidate' });
const ENRICH_ARN = localFunctionArn({ id: 'TestEnrich' });
const PARK_ARN = localFunctionArn({ id: 'TestPark' });

interface Parked {
  readonly waitingFor: string;
  readonly taskToken: string;
  readonly sameToken?: string;
  readonly itemId: string;
}

/** A fresh harness per test: the fixture ASL bound to stub functions, a queue, the router and DynamoDB Local. */
function harness(dynamo: DynamoDbLocal, tables: TableNames, validate: LocalFunction = () => ({ ok: true })) {
  const parked: Parked[] = [];
  const dispatchQueue = new LocalQueue(QUEUES.dispatch);
  const router = new LocalEventRouter({ rules: [] });
  const bindings: AslBindings = {
    functions: {
      [VALIDATE_ARN]: validate,
      [ENRICH_ARN]: (payload) => ({ itemId: (payload as { itemId: string }).itemId, tier: 'gold' }),
      [PARK_ARN]: (payload) => {
        parked.push(payload as unknown as Parked);
        return { parked: true };
      },
    },
    dynamodb: dynamo.client,
    events: router,
    queues: { [dispatchQueue.url]: dispatchQueue },
  };
  const definition = substitute(FIXTURE, {
    ValidateFunctionArn: VALIDATE_ARN,
    EnrichFunctionArn: ENRICH_ARN,
    ParkFunctionArn: PARK_ARN,
    AuditTableName: tables[AUDIT_TABLE.id] ?? '',
    InstancesTableName: tables[INSTANCES_TABLE.id] ?? '',
    DispatchQueueUrl: dispatchQueue.url,
    EventBusName: LOCAL_EVENT_BUS_NAME,
  });
  const runner = new AslRunner({ definition, stateMachineName: 'Bindings', bindings, retryIntervalMs: 0 });
  // The dispatcher stand-in: every enqueue is assigned to agent-ana through the token registry.
  dispatchQueue.consume((batch) => {
    for (const message of batch) {
      const body = JSON.parse(message.body) as { taskToken: string; enqueuedAt: string };
      runner.tokens.sendTaskSuccess(body.taskToken, { agentId: 'agent-ana', enqueuedAt: body.enqueuedAt });
    }
  });
  const waitForParked = async (waitingFor: string, itemId: string): Promise<Parked> => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const found = parked.find((entry) => entry.waitingFor === waitingFor && entry.itemId === itemId);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`nothing parked for ${waitingFor} of ${itemId}`);
  };
  return { runner, router, dispatchQueue, parked, waitForParked };
}

const input = (itemId: string, replyTimeoutSeconds = 30): JsonValue => ({
  itemId,
  detail: { id: itemId },
  replyTimeoutSeconds,
});

describe('AslRunner on a fixture ASL exercising every binding', () => {
  let dynamo: DynamoDbLocal;
  let tables: TableNames;

  beforeAll(async () => {
    dynamo = await startDynamoDbLocal();
    tables = await createTables(dynamo.client, TABLES, 'asl-');
  });

  afterAll(async () => {
    await dynamo?.stop();
  });

  it('binds each Task state by its Resource ARN', () => {
    // Prepare
    const { runner } = harness(dynamo, tables);

    // Act
    const bindings = runner.taskBindings;

    // Assess
    expect(bindings).toEqual({
      Validate: 'lambda',
      Enrich: 'lambda:invoke',
      'Record Received': 'dynamodb',
      'Mark Received': 'dynamodb',
      'Read Back': 'dynamodb',
      'Claim Slot': 'dynamodb',
      'Wait For Approval': 'lambda:invoke.waitForTaskToken',
      'Wait For Dispatch': 'sqs:sendMessage.waitForTaskToken',
      Announce: 'events:putEvents',
      'Wait For Reply': 'lambda:invoke.waitForTaskToken',
    });
  });

  it('runs every binding end to end, resumed through the token registry', async () => {
    // Prepare
    const { runner, router, waitForParked } = harness(dynamo, tables);
    const itemId = 'ITEM-happy';

    // Act
    const { executionArn } = runner.startExecution({ name: itemId, input: input(itemId) });
    const approval = await waitForParked('approval', itemId);
    runner.tokens.sendTaskSuccess(approval.taskToken, { approvedBy: 'ops-lead' });
    const reply = await waitForParked('reply', itemId);
    runner.tokens.sendTaskSuccess(reply.taskToken, { replied: true });
    const done = await runner.waitForExecution(itemId, 10_000);

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:Bindings:ITEM-happy');
    expect(done.output).toMatchObject({
      validation: { ok: true },
      enrichment: { tier: 'gold', statusCode: 200 },
      readBack: { stage: 'VALIDATING' },
      claimError: { Error: 'DynamoDB.ConditionalCheckFailedException' },
      approval: { approvedBy: 'ops-lead' },
      assignment: { agentId: 'agent-ana' },
      reply: { replied: true },
    });
    // One token per state entry, the same wherever one Parameters block reads it.
    expect(approval.sameToken).toBe(approval.taskToken);
    expect(new Set([approval.taskToken, reply.taskToken]).size).toBe(2);
    // The event reached the router with the detail built from the state.
    const routed = router.events.find((recorded) => recorded.event['detail-type'] === 'WorkItemRouted');
    expect(routed?.event).toMatchObject({ source: 'flowtune', detail: { id: itemId, agentId: 'agent-ana' } });
    const eventIds = (done.output as { announcement: { Entries: { EventId: string }[] } }).announcement
      .Entries;
    expect(eventIds[0]?.EventId).toBe(routed?.event.id);
  });

  it('writes through the real SDK: the audit record is in DynamoDB Local with the context values', async () => {
    // Prepare
    const { runner, waitForParked } = harness(dynamo, tables);
    const itemId = 'ITEM-audit';

    // Act
    runner.startExecution({ name: itemId, input: input(itemId) });
    await waitForParked('approval', itemId);
    const audit = await dynamo.client.send(
      new QueryCommand({
        TableName: tables[AUDIT_TABLE.id],
        KeyConditionExpression: 'itemId = :id',
        ExpressionAttributeValues: { ':id': { S: itemId } },
      }),
    );
    const instance = await dynamo.client.send(
      new GetItemCommand({ TableName: tables[INSTANCES_TABLE.id], Key: { itemId: { S: itemId } } }),
    );
    await runner.stopExecution(itemId);

    // Assess
    expect(audit.Items).toHaveLength(1);
    const record = audit.Items?.[0];
    const at = record?.at?.S ?? '';
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Two reads of $$.State.EnteredTime in one state agree, as on AWS.
    expect(record?.recordKey?.S).toBe(`${at}#RECEIVED`);
    expect(record?.executionId?.S).toBe(
      'arn:aws:states:us-east-1:000000000000:execution:Bindings:ITEM-audit',
    );
    expect(record?.tier?.S).toBe('gold');
    expect(instance.Item?.stage?.S).toBe('VALIDATING');
  });

  it('writes States.JsonToString as Step Functions does, quotes, newlines and backslashes kept (the library strips backslashes)', async () => {
    // Prepare: a Task writing a JSON string of a value full of characters JSON escapes
    const table = tables[AUDIT_TABLE.id] ?? '';
    const payload = {
      summary: 'category "password-reset" at priority 1',
      path: 'C:\\queue\\p1',
      note: 'line 1\nline 2',
    };
    const definition = JSON.stringify({
      StartAt: 'Write',
      States: {
        Write: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: {
            TableName: table,
            Item: {
              itemId: { 'S.$': '$.itemId' },
              recordKey: { S: 'json-to-string' },
              details: { 'S.$': 'States.JsonToString($.payload)' },
            },
          },
          ResultPath: null,
          End: true,
        },
      },
    });
    const runner = new AslRunner({
      definition,
      stateMachineName: 'JsonToString',
      bindings: { dynamodb: dynamo.client },
    });

    // Act
    runner.startExecution({ name: 'ITEM-json', input: { itemId: 'ITEM-json', payload } });
    const execution = await runner.waitForExecution('ITEM-json');
    const stored = await dynamo.client.send(
      new GetItemCommand({
        TableName: table,
        Key: { itemId: { S: 'ITEM-json' }, recordKey: { S: 'json-to-string' } },
      }),
    );

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(stored.Item?.details?.S).toBe(JSON.stringify(payload));
    expect(JSON.parse(stored.Item?.details?.S ?? '')).toEqual(payload);
  });

  it('follows StartExecution semantics for names', async () => {
    // Prepare
    const { runner } = harness(dynamo, tables);
    const first = runner.startExecution({ name: 'ITEM-dup', input: input('ITEM-dup') });

    // Act
    const sameAgain = runner.startExecution({ name: 'ITEM-dup', input: input('ITEM-dup') });
    const otherInput = () => runner.startExecution({ name: 'ITEM-dup', input: input('ITEM-dup', 5) });
    const badName = () => runner.startExecution({ name: 'has space', input: {} });
    await runner.stopExecution('ITEM-dup');
    const afterStop = () => runner.startExecution({ name: 'ITEM-dup', input: input('ITEM-dup') });

    // Assess
    expect(sameAgain.executionArn).toBe(first.executionArn);
    expect(otherInput).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    expect(badName).toThrow(expect.objectContaining({ name: 'InvalidName' }));
    expect(afterStop).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    expect(runner.describeExecution(first.executionArn).status).toBe('ABORTED');
    expect(runner.listExecutions({ status: 'ABORTED' }).map((execution) => execution.name)).toEqual([
      'ITEM-dup',
    ]);
  });

  it('times out a wait, catches States.Timeout and answers its token with TaskTimedOut afterwards', async () => {
    // Prepare
    const { runner, waitForParked } = harness(dynamo, tables);
    const itemId = 'ITEM-timeout';
    runner.startExecution({ name: itemId, input: input(itemId, 1) });
    const approval = await waitForParked('approval', itemId);
    runner.tokens.sendTaskSuccess(approval.taskToken, { approvedBy: 'ops-lead' });
    const reply = await waitForParked('reply', itemId);

    // Act
    const done = await runner.waitForExecution(itemId, 10_000);
    const late = () => runner.tokens.sendTaskSuccess(reply.taskToken, { replied: 'too late' });

    // Assess
    expect(done.status).toBe('SUCCEEDED');
    expect(done.output).toMatchObject({ replyOutcome: 'timed-out', replyError: { Error: 'States.Timeout' } });
    expect(late).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });

  it('carries a SendTaskFailure error and cause into Catch', async () => {
    // Prepare
    const { runner, waitForParked } = harness(dynamo, tables);
    const itemId = 'ITEM-rejected';
    runner.startExecution({ name: itemId, input: input(itemId) });
    const approval = await waitForParked('approval', itemId);

    // Act
    runner.tokens.sendTaskFailure(approval.taskToken, 'Rejected', 'customer withdrew the request');
    const done = await runner.waitForExecution(itemId, 10_000);

    // Assess
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'ApprovalRejected',
      cause: 'customer withdrew the request',
    });
  });

  it('retries a failing Lambda, then catches its error as Lambda reports it', async () => {
    // Prepare
    let calls = 0;
    const validate: LocalFunction = () => {
      calls += 1;
      throw Object.assign(new Error('detail.id is missing'), { name: 'ValidationError' });
    };
    const { runner } = harness(dynamo, tables, validate);

    // Act
    runner.startExecution({ name: 'ITEM-invalid', input: input('ITEM-invalid') });
    const done = await runner.waitForExecution('ITEM-invalid', 10_000);
    const history = runner.getExecutionHistory('ITEM-invalid');

    // Assess
    expect(calls).toBe(3);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ValidationError');
    expect(JSON.parse(done.cause ?? '{}')).toMatchObject({
      errorType: 'ValidationError',
      errorMessage: 'detail.id is missing',
    });
    expect(history.filter((event) => event.type === 'StateRetried')).toHaveLength(2);
    expect(history.at(-1)?.type).toBe('ExecutionFailed');
  });

  it('runs aws-sdk:dynamodb:transactWriteItems all or nothing, a cancellation named as Step Functions names it', async () => {
    // Prepare: each run claims the same item once, then counts the claim on a second item.
    const instances = tables[INSTANCES_TABLE.id] ?? '';
    const claim = {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
      Parameters: {
        TransactItems: [
          {
            Put: {
              TableName: instances,
              Item: { itemId: { 'S.$': '$.itemId' }, stage: { S: 'CLAIMED' } },
              ConditionExpression: 'attribute_not_exists(itemId)',
            },
          },
          {
            Update: {
              TableName: instances,
              Key: { itemId: { S: 'ITEM-claims' } },
              UpdateExpression: 'ADD claims :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
        ],
      },
      ResultPath: '$.claim',
      Catch: [
        { ErrorEquals: ['DynamoDb.TransactionCanceledException'], ResultPath: '$.claimError', Next: 'Done' },
      ],
      Next: 'Done',
    };
    const runner = new AslRunner({
      definition: JSON.stringify({ StartAt: 'Claim', States: { Claim: claim, Done: { Type: 'Succeed' } } }),
      bindings: { dynamodb: dynamo.client },
    });

    // Act
    runner.startExecution({ name: 'claim-1', input: { itemId: 'ITEM-claimed' } });
    const first = await runner.waitForExecution('claim-1', 10_000);
    runner.startExecution({ name: 'claim-2', input: { itemId: 'ITEM-claimed' } });
    const second = await runner.waitForExecution('claim-2', 10_000);
    const counter = await dynamo.client.send(
      new GetItemCommand({ TableName: instances, Key: { itemId: { S: 'ITEM-claims' } } }),
    );

    // Assess
    expect(runner.taskBindings.Claim).toBe('aws-sdk:dynamodb');
    expect(first.output).toEqual({ itemId: 'ITEM-claimed', claim: {} });
    expect(second.output).toMatchObject({
      claimError: {
        Error: 'DynamoDb.TransactionCanceledException',
        Cause: expect.stringMatching(/\[ConditionalCheckFailed, None\].*Service: DynamoDb, Status Code: 400/),
      },
    });
    // The cancelled transaction applied nothing: one claim counted, not two.
    expect(counter.Item?.claims?.N).toBe('1');
  });

  it.each([
    ['InternalServerError', 'DynamoDb.InternalServerErrorException'],
    ['ProvisionedThroughputExceededException', 'DynamoDb.ProvisionedThroughputExceededException'],
  ])(
    'names a service error %s of an AWS SDK integration %s, as Retry and Catch see it',
    async (name, expected) => {
      // Prepare
      const client = new DynamoDBClient({
        region: 'us-east-1',
        endpoint: dynamo.endpoint,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      });
      client.middlewareStack.add(
        () => async () => {
          throw new DynamoDBServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: 500 } });
        },
        { step: 'initialize', name: 'failEveryCall' },
      );
      const task = {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
        Parameters: {
          TransactItems: [{ ConditionCheck: { TableName: 't', Key: {}, ConditionExpression: 'x' } }],
        },
        End: true,
      };
      const runner = new AslRunner({
        definition: JSON.stringify({ StartAt: 'Write', States: { Write: task } }),
        bindings: { dynamodb: client },
      });

      // Act
      runner.startExecution({ name: `sdk-error-${name}`, input: {} });
      const done = await runner.waitForExecution(`sdk-error-${name}`, 10_000);
      client.destroy();

      // Assess
      expect(done).toMatchObject({ status: 'FAILED', error: expected });
    },
  );

  it('refuses TransactItems whose entry names no single action, before calling DynamoDB', async () => {
    // Prepare
    const task = {
      Type: 'Task',
      Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
      Parameters: {
        TransactItems: [{ Put: { TableName: 't', Item: {} }, Delete: { TableName: 't', Key: {} } }],
      },
      End: true,
    };
    const runner = new AslRunner({
      definition: JSON.stringify({ StartAt: 'Write', States: { Write: task } }),
      bindings: { dynamodb: dynamo.client },
    });

    // Act
    runner.startExecution({ name: 'two-actions', input: {} });
    const done = await runner.waitForExecution('two-actions', 10_000);

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toContain('Task "Write": Parameters.TransactItems.0');
  });

  it('aborts on StopExecution and closes the waiting token', async () => {
    // Prepare
    const { runner, waitForParked } = harness(dynamo, tables);
    const itemId = 'ITEM-stopped';
    runner.startExecution({ name: itemId, input: input(itemId) });
    const approval = await waitForParked('approval', itemId);

    // Act
    await runner.stopExecution(itemId, { error: 'Operator', cause: 'closed by hand' });
    const late = () => runner.tokens.sendTaskSuccess(approval.taskToken, {});

    // Assess
    expect(runner.describeExecution(itemId)).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      cause: 'closed by hand',
    });
    expect(late).toThrow(expect.objectContaining({ name: 'TaskTimedOut' }));
  });
});

describe('AslRunner refuses what it cannot run faithfully', () => {
  const minimal = (state: Record<string, unknown>) =>
    JSON.stringify({ StartAt: 'Only', States: { Only: { ...state, End: true } } });

  it.each([
    [
      'an unbindable resource',
      minimal({ Type: 'Task', Resource: 'arn:aws:states:::ecs:runTask.sync' }),
      /Task "Only".*ecs:runTask\.sync/,
    ],
    [
      'a Lambda ARN without a local function',
      minimal({ Type: 'Task', Resource: VALIDATE_ARN }),
      /needs a function for/,
    ],
    [
      'a dynamodb task without a client',
      minimal({
        Type: 'Task',
        Resource: 'arn:aws:states:::dynamodb:putItem',
        Parameters: { TableName: 't', Item: {} },
      }),
      /needs a DynamoDB client/,
    ],
    [
      'an AWS SDK integration it does not carry',
      minimal({
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:dynamodb:scan',
        Parameters: { TableName: 't' },
      }),
      /Task "Only".*aws-sdk:dynamodb:scan.*Supported:.*aws-sdk:dynamodb:transactWriteItems/,
    ],
    [
      'a transactWriteItems task without a client',
      minimal({
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems',
        Parameters: { TransactItems: [] },
      }),
      /needs a DynamoDB client/,
    ],
    [
      'a placeholder left unsubstituted',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: an ASL placeholder, not a JS template.
      minimal({ Type: 'Task', Resource: '${ScoreFunctionArn}' }),
      /Placeholders left.*\$\{ScoreFunctionArn\}/,
    ],
    [
      'JSONata',
      JSON.stringify({
        QueryLanguage: 'JSONata',
        StartAt: 'Only',
        States: { Only: { Type: 'Pass', End: true } },
      }),
      /JSONata/,
    ],
    ['Assign', minimal({ Type: 'Pass', Assign: { x: 1 } }), /Assign/],
  ])('refuses %s, naming it', (_, definition, message) => {
    // Prepare
    const create = () => new AslRunner({ definition, bindings: {} });

    // Act + Assess
    expect(create).toThrow(message);
  });
});

describe('AslRunner on the real process-instance ASL', () => {
  it('accepts the substituted definition and binds every Task state', () => {
    // Prepare
    const stub: LocalFunction = () => ({});
    const functions = Object.fromEntries(Object.values(FUNCTIONS).map((fn) => [localFunctionArn(fn), stub]));
    const queue = new LocalQueue(QUEUES.dispatch);

    // Act
    const runner = new AslRunner({
      definition: localProcessDefinition(),
      bindings: {
        functions,
        // Never called here: the test only builds the bindings.
        dynamodb: new DynamoDBClient({
          region: 'us-east-1',
          endpoint: 'http://127.0.0.1:9',
          credentials: LOCAL_CREDENTIALS,
        }),
        events: new LocalEventRouter({ rules: [] }),
        queues: { [localQueueUrl(QUEUES.dispatch)]: queue },
      },
    });

    // Assess
    const kinds = new Set(Object.values(runner.taskBindings));
    expect(kinds).toEqual(
      new Set([
        'lambda',
        'dynamodb',
        'aws-sdk:dynamodb',
        'events:putEvents',
        'lambda:invoke.waitForTaskToken',
        'sqs:sendMessage.waitForTaskToken',
      ]),
    );
    expect(runner.taskBindings['Wait For Assignment']).toBe('sqs:sendMessage.waitForTaskToken');
    expect(runner.taskBindings['Wait For Completion']).toBe('lambda:invoke.waitForTaskToken');
    expect(runner.taskBindings['Release Capacity']).toBe('aws-sdk:dynamodb');
  });
});
