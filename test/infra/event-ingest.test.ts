import { isDeepStrictEqual } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ALL_EVENTS, FLOWTUNE_SOURCE } from '../../domain/events';
import { eventJsonSchemas } from '../../domain/events/json-schema';
import { DispatchMessage } from '../../domain/process';
import {
  DISPATCH_MESSAGE_GROUP,
  DISPATCH_TICK_MINUTES,
  INBOUND_RULES,
  QUEUES,
  RULES,
} from '../../lib/definitions';
import { ALLOCATION_SCHEDULE } from '../../lib/definitions/allocation';
import { TUNING_RULES } from '../../lib/definitions/tuning';
import {
  actionsOf,
  logicalIdOf,
  type PolicyStatementJson,
  refsIn,
  resourcesOfType,
  statementsIn,
  synthFlowtune,
} from './support';

const { stack, template } = synthFlowtune();
const ingest = stack.ingest;
const getAtt = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalIdOf(stack, construct), 'Arn'] });
const busArn = getAtt(ingest.bus);
const deliveryDlqArn = getAtt(ingest.deliveryDeadLetterQueue);

describe('EventIngest', () => {
  it("creates two custom buses: the producers' inbound bus and Flowtune's bus", () => {
    template.resourceCountIs('AWS::Events::EventBus', 2);
  });

  it('hands every producer event on the inbound bus to the ingress function, and nothing else reads it', () => {
    const inboundBusRef = { Ref: logicalIdOf(stack, ingest.inboundBus) };
    const onInbound = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) =>
      isDeepStrictEqual(rule.Properties?.EventBusName, inboundBusRef),
    );
    expect(onInbound).toHaveLength(1);
    const [, rule] = onInbound[0] ?? [];
    expect(rule?.Properties?.EventPattern).toEqual(INBOUND_RULES.inboundToIngress.pattern);
    const targets = rule?.Properties?.Targets as Record<string, unknown>[];
    expect(targets).toHaveLength(1);
    expect(targets[0]?.Arn).toEqual(getAtt(stack.orchestration.functions.ingress));
  });

  it('keeps no archive of the inbound bus: what is archived was pseudonymised first', () => {
    const archives = resourcesOfType(template, 'AWS::Events::Archive');
    expect(archives).toHaveLength(1);
    expect(archives[0]?.[1].Properties?.SourceArn).toEqual(busArn);
  });

  it('archives every inbound event of the bus, and only inbound ones, for replay', () => {
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: busArn,
      EventPattern: { source: [{ 'anything-but': FLOWTUNE_SOURCE }] },
      RetentionDays: 365,
    });
  });

  const ruleEntries = Object.entries(RULES) as [keyof typeof RULES, (typeof RULES)[keyof typeof RULES]][];
  const ruleResource = (name: keyof typeof RULES) => {
    const logicalId = logicalIdOf(stack, ingest.rules[name]);
    const found = resourcesOfType(template, 'AWS::Events::Rule').find(([id]) => id === logicalId);
    if (found === undefined) throw new Error(`rule ${name} (${logicalId}) is not in the template`);
    return found[1];
  };

  it.each(ruleEntries)(
    'creates rule %s on the bus with its definition pattern verbatim',
    (name, definition) => {
      const rule = ruleResource(name);

      expect(rule.Properties?.EventBusName).toEqual({ Ref: logicalIdOf(stack, ingest.bus) });
      // Named, so dashboards key its metrics the same way on AWS and on emulators.
      expect(rule.Properties?.Name).toBe(`Flowtune-${definition.id}`);
      expect(rule.Properties?.EventPattern).toEqual(definition.pattern);
      expect(rule.Properties?.Description).toBe(definition.description);
    },
  );

  it.each(ruleEntries)('routes rule %s to the queue or function its definition names', (name, definition) => {
    const expected =
      definition.target.kind === 'queue'
        ? getAtt(ingest.queues[definition.target.queue].queue)
        : getAtt(stack.orchestration.functions[definition.target.fn]);

    const targets = ruleResource(name).Properties?.Targets as { Arn: unknown }[];

    expect(targets.map((target) => target.Arn)).toEqual([expected]);
  });

  it('gives every target of every rule a dead-letter queue and an explicit retry policy', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    const targets = rules.flatMap(([, rule]) => rule.Properties?.Targets as Record<string, unknown>[]);

    // Ingest's rules on both buses plus its dispatch tick; the tuning loop's rule and schedule; the allocation schedule.
    expect(rules).toHaveLength(
      Object.keys(RULES).length +
        Object.keys(INBOUND_RULES).length +
        1 +
        Object.keys(TUNING_RULES).length +
        1 +
        1,
    );
    expect(targets).toHaveLength(rules.length);
    const allocationRun = getAtt(stack.allocation.fn);
    for (const target of targets) {
      expect(target.DeadLetterConfig).toEqual({ Arn: deliveryDlqArn });
      // A scheduled allocation run older than one interval is superseded by the next run.
      const retryPolicy = isDeepStrictEqual(target.Arn, allocationRun)
        ? { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: ALLOCATION_SCHEDULE.rateMinutes * 60 }
        : { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 86_400 };
      expect(target.RetryPolicy).toEqual(retryPolicy);
    }
  });

  const queueRules = ruleEntries.flatMap(([name, definition]) =>
    definition.target.kind === 'queue' ? [[name, definition.target.queue] as const] : [],
  );

  it.each(queueRules)(
    'lets EventBridge send to the queue of rule %s only on behalf of that rule',
    (name, queueName) => {
      const queueRef = { Ref: logicalIdOf(stack, ingest.queues[queueName].queue) };
      const policies = resourcesOfType(template, 'AWS::SQS::QueuePolicy').filter(
        ([, policy]) => JSON.stringify(policy.Properties?.Queues) === JSON.stringify([queueRef]),
      );
      const statements = policies.flatMap(([, policy]) => statementsIn(policy.Properties?.PolicyDocument));

      const fromRule = statements.filter(
        (statement) =>
          statement.Effect === 'Allow' &&
          JSON.stringify(statement.Condition) ===
            JSON.stringify({ ArnEquals: { 'aws:SourceArn': getAtt(ingest.rules[name]) } }),
      );

      expect(fromRule).toHaveLength(1);
      expect(actionsOf(fromRule[0] as PolicyStatementJson)).toContain('sqs:SendMessage');
    },
  );

  it('publishes one JSON Schema (draft 4) per event to the schema registry, generated from the zod contracts', () => {
    const schemas = eventJsonSchemas();
    const registry = ingest.schemaRegistry;
    if (registry === undefined) throw new Error('the stack has no schema registry');
    template.resourceCountIs('AWS::EventSchemas::Registry', 1);
    template.resourceCountIs('AWS::EventSchemas::Schema', Object.keys(ALL_EVENTS).length);
    for (const [detailType, schema] of Object.entries(schemas)) {
      template.hasResourceProperties('AWS::EventSchemas::Schema', {
        SchemaName: detailType,
        Type: 'JSONSchemaDraft4',
        Content: JSON.stringify(schema),
        RegistryName: { 'Fn::GetAtt': [logicalIdOf(stack, registry), 'RegistryName'] },
      });
    }
  });

  it('gives the intake queue its redrive queue, visibility timeout and the ingest key from QUEUES', () => {
    if (ingest.key === undefined) throw new Error('the stack has no ingest key');
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: QUEUES.intake.visibilityTimeoutSeconds,
      KmsMasterKeyId: getAtt(ingest.key),
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(ingest.queues.intake.deadLetterQueue),
        maxReceiveCount: QUEUES.intake.maxReceiveCount,
      },
    });
  });

  it('makes the dispatch queue FIFO with content-based deduplication and a FIFO redrive queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: QUEUES.dispatch.visibilityTimeoutSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(ingest.queues.dispatch.deadLetterQueue),
        maxReceiveCount: QUEUES.dispatch.maxReceiveCount,
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      RedrivePolicy: Match.absent(),
    });
  });

  it('ticks a dispatch round into the dispatch queue every DISPATCH_TICK_MINUTES, in the single message group', () => {
    const unit = DISPATCH_TICK_MINUTES === 1 ? 'minute' : 'minutes';
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${DISPATCH_TICK_MINUTES} ${unit})`,
      Targets: [
        Match.objectLike({
          Arn: getAtt(ingest.queues.dispatch.queue),
          SqsParameters: { MessageGroupId: DISPATCH_MESSAGE_GROUP },
          DeadLetterConfig: { Arn: deliveryDlqArn },
        }),
      ],
    });
  });

  it('sends the dispatcher a tick DispatchMessage it accepts, stamped with the schedule time', () => {
    const [, tick] =
      resourcesOfType(template, 'AWS::Events::Rule').find(
        ([logicalId]) => logicalId === logicalIdOf(stack, ingest.dispatchTick),
      ) ?? [];
    const [target] = (tick?.Properties?.Targets ?? []) as {
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
    }[];
    const transformer = target?.InputTransformer;
    if (transformer === undefined) throw new Error('the dispatch tick has no input transformer');

    // EventBridge puts a JSON value (a quoted string here) in place of an unquoted <placeholder>.
    const delivered = transformer.InputTemplate.replace('<time>', JSON.stringify('2026-11-22T10:00:00Z'));

    expect(transformer.InputPathsMap).toEqual({ time: '$.time' });
    expect(DispatchMessage.parse(JSON.parse(delivered))).toEqual({
      kind: 'tick',
      reason: 'schedule',
      at: '2026-11-22T10:00:00Z',
    });
  });

  it('refuses TLS-less access to every queue', () => {
    const policies = resourcesOfType(template, 'AWS::SQS::QueuePolicy');
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    const protectedQueues = policies
      .filter(([, policy]) =>
        JSON.stringify(policy.Properties?.PolicyDocument).includes('"aws:SecureTransport":"false"'),
      )
      .flatMap(([, policy]) => refsIn(policy.Properties?.Queues));

    expect(new Set(protectedQueues)).toEqual(new Set(queues.map(([logicalId]) => logicalId)));
  });
});

describe('EventIngest on an emulator', () => {
  it('leaves out only the resource types MiniStack cannot provision', () => {
    const onMiniStack = synthFlowtune({ emulator: 'ministack' }).template;
    const types = (t: typeof template) =>
      new Set(
        Object.values(t.toJSON().Resources as Record<string, { Type: string }>).map(
          (resource) => resource.Type,
        ),
      );

    const left = [...types(template)].filter((type) => !types(onMiniStack).has(type)).sort();

    expect(left).toEqual([
      'AWS::EventSchemas::Registry',
      'AWS::EventSchemas::Schema',
      'AWS::Events::Archive',
      'AWS::StepFunctions::StateMachineAlias',
      'AWS::StepFunctions::StateMachineVersion',
    ]);
  });
});
