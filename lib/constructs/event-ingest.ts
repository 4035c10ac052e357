import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Archive,
  type EventPattern as CdkEventPattern,
  type CfnArchive,
  type CfnEventBus,
  EventBus,
  EventField,
  Rule,
  RuleTargetInput,
  Schedule,
} from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import {
  AccountPrincipal,
  AnyPrincipal,
  type IGrantable,
  PolicyStatement,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FLOWTUNE_SOURCE, INBOUND_EVENTS } from '../../domain/events';
import { eventJsonSchemas } from '../../domain/events/json-schema';
import {
  DISPATCH_MESSAGE_GROUP,
  DISPATCH_TICK_MINUTES,
  type EventPattern,
  type FunctionName,
  INBOUND_RULES,
  type InboundRuleName,
  QUEUES,
  type QueueDefinition,
  type QueueName,
  RULES,
} from '../definitions';
import { acknowledgeFinding } from '../nag';
import { createDeadLetterQueue, encryptQueueWithKey } from './dead-letter-queue';

export type RuleName = keyof typeof RULES;

/** Every rule that targets a function, on either bus. */
const FUNCTION_RULES = [
  ...(Object.entries(RULES) as [RuleName, (typeof RULES)[RuleName]][]),
  ...(Object.entries(INBOUND_RULES) as [InboundRuleName, (typeof INBOUND_RULES)[InboundRuleName]][]),
].filter(([, definition]) => definition.target.kind === 'function');

/** A work queue of QUEUES with the dead-letter queue its redrive policy points at. */
export interface IngestQueue {
  readonly definition: QueueDefinition;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

export interface EventIngestProps {
  /**
   * How long the archive keeps inbound events for replay.
   *
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;
  /**
   * Whether to archive inbound events. Only emulators without EventBridge archives turn it off.
   *
   * @default true
   */
  readonly archive?: boolean;
  /**
   * Whether to publish the event schemas to a schema registry. Only emulators without the
   * EventBridge schema registry turn it off.
   *
   * @default true
   */
  readonly schemaRegistry?: boolean;
  /**
   * Delivery attempts per rule target before the event goes to the delivery dead-letter queue.
   *
   * @default 10
   */
  readonly targetRetryAttempts?: number;
  /**
   * Age after which EventBridge stops retrying a rule target and dead-letters the event.
   *
   * @default Duration.hours(24)
   */
  readonly targetMaxEventAge?: Duration;
  /**
   * How long every dead-letter queue keeps a message for inspection and redrive (SQS maximum: 14 days).
   *
   * @default Duration.days(14)
   */
  readonly deadLetterRetention?: Duration;
  /**
   * Whether the bus, its archive and every queue are encrypted with the construct's
   * customer-managed key. Only an emulator that cannot use KMS keys turns it off (the queues then
   * keep SQS-managed encryption and the bus EventBridge's own key).
   *
   * @default true
   */
  readonly customerManagedKey?: boolean;
  /**
   * Producers in other AWS accounts that may put inbound events on the bus.
   *
   * @default - none: only principals of this account with events:PutEvents on the bus
   */
  readonly producers?: ProducerAccess;
}

/**
 * Other AWS accounts, or every account of an AWS Organization, whose producers may put events on
 * Flowtune's bus: only the inbound detail-types (INBOUND_EVENTS), never with Flowtune's own
 * source, so a producer can neither forge a decision nor send what no rule would take.
 */
export interface ProducerAccess {
  /**
   * 12-digit AWS account ids.
   *
   * @default - none
   */
  readonly accountIds?: readonly string[];
  /**
   * An AWS Organization id (`o-` and 10 to 32 lowercase letters or digits): every account in it.
   *
   * @default - none
   */
  readonly organizationId?: string;
}

const ACCOUNT_ID = /^[0-9]{12}$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/**
 * Where events enter Flowtune: the inbound bus producers put their events on, whose one rule hands
 * each to the ingress function (personal data pseudonymised, docs/reliability.md) which puts it on
 * Flowtune's custom bus; on that bus an archive of inbound events for replay, the
 * schema registry with one JSON Schema per event, one rule per entry of RULES (pattern verbatim,
 * a retry policy and a dead-letter queue on every target), the intake and dispatch queues of
 * QUEUES with their redrive queues, and the periodic dispatch tick.
 *
 * Rules that target a function get their target from `bindFunctions`, once the functions exist.
 */
export class EventIngest extends Construct {
  /**
   * Customer-managed key (rotated yearly) of the bus, its archive and every queue of the ingest
   * path; absent only where `customerManagedKey: false`. Its policy lets EventBridge use it for
   * this account's bus and queue targets and otherwise delegates to the account's IAM: each
   * sender to or reader of a queue is granted its use through SQS only (`grantQueueKey`).
   */
  readonly key?: Key;
  /** Flowtune's bus: producers' events after the ingress (pseudonymised), and Flowtune's own. */
  readonly bus: EventBus;
  /**
   * Where producers put their events. Nothing but the ingress rule reads it, and it has no archive,
   * so a producer's personal data rests nowhere before it is pseudonymised.
   */
  readonly inboundBus: EventBus;
  readonly inboundRules: Readonly<Record<InboundRuleName, Rule>>;
  /** Inbound events for replay (absent only where `archive: false`). */
  readonly archive?: Archive;
  /** The event contracts as JSON Schemas (absent only where `schemaRegistry: false`). */
  readonly schemaRegistry?: CfnRegistry;
  readonly schemas: readonly CfnSchema[];
  /** Events EventBridge could not deliver to any rule target, after the retry policy. */
  readonly deliveryDeadLetterQueue: Queue;
  readonly queues: Readonly<Record<QueueName, IngestQueue>>;
  readonly rules: Readonly<Record<RuleName, Rule>>;
  /** Default-bus schedule that sends a dispatch round trigger every DISPATCH_TICK_MINUTES. */
  readonly dispatchTick: Rule;

  private readonly targetRetryAttempts: number;
  private readonly targetMaxEventAge: Duration;
  private readonly boundFunctionRules = new Set<RuleName | InboundRuleName>();

  constructor(scope: Construct, id: string, props: EventIngestProps = {}) {
    super(scope, id);
    this.targetRetryAttempts = props.targetRetryAttempts ?? 10;
    this.targetMaxEventAge = props.targetMaxEventAge ?? Duration.hours(24);
    const deadLetterRetention = props.deadLetterRetention ?? Duration.days(14);

    this.key = (props.customerManagedKey ?? true) ? this.createKey() : undefined;
    const queueKey = this.key;

    this.deliveryDeadLetterQueue = createDeadLetterQueue(this, 'DeliveryDeadLetterQueue', {
      fifo: false,
      retentionPeriod: deadLetterRetention,
      ...(queueKey === undefined ? {} : { encryptionKey: queueKey }),
    });
    acknowledgeFinding(
      this.deliveryDeadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is the dead-letter queue of every EventBridge rule target; cdk-nag only recognises DLQs named in a redrive policy.',
    );

    this.bus = new EventBus(this, 'Bus', {
      description: 'Flowtune: work-item events in and out',
      ...(this.key === undefined
        ? {}
        : {
            kmsKey: this.key,
            // Events the bus cannot encrypt or decrypt (a key disabled by mistake) are kept here.
            deadLetterQueue: this.deliveryDeadLetterQueue,
          }),
    });
    this.inboundBus = new EventBus(this, 'InboundBus', {
      description: 'Flowtune: producers put work-item and agent events here; the ingress forwards them',
      ...(this.key === undefined ? {} : { kmsKey: this.key, deadLetterQueue: this.deliveryDeadLetterQueue }),
    });
    if (this.key !== undefined) {
      this.deliveryDeadLetterQueue.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [this.deliveryDeadLetterQueue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': [this.bus.eventBusArn, this.inboundBus.eventBusArn] } },
        }),
      );
    }

    if (props.archive ?? true) {
      this.archive = new Archive(this, 'InboundArchive', {
        sourceEventBus: this.bus,
        description:
          'Every inbound event (source other than flowtune) as the ingress forwarded it, pseudonymised, for replay',
        eventPattern: asCdkPattern(inboundSourcePattern()),
        retention: props.archiveRetention ?? Duration.days(365),
      });
      if (this.key !== undefined) this.encryptArchive(this.archive, this.key);
    }

    if (props.producers !== undefined) this.allowProducers(props.producers);

    const registry =
      (props.schemaRegistry ?? true)
        ? new CfnRegistry(this, 'SchemaRegistry', {
            description: 'Flowtune event contracts, generated from the zod schemas in domain/events',
          })
        : undefined;
    this.schemaRegistry = registry;
    this.schemas =
      registry === undefined
        ? []
        : Object.entries(eventJsonSchemas()).map(
            ([detailType, schema]) =>
              new CfnSchema(this, `${detailType}Schema`, {
                registryName: registry.attrRegistryName,
                schemaName: detailType,
                type: 'JSONSchemaDraft4',
                description: `detail of the ${detailType} event`,
                content: JSON.stringify(schema),
              }),
          );

    this.queues = {
      intake: this.createWorkQueue(QUEUES.intake, deadLetterRetention, queueKey),
      dispatch: this.createWorkQueue(QUEUES.dispatch, deadLetterRetention, queueKey),
    };

    const rules = {} as Record<RuleName, Rule>;
    for (const [name, definition] of Object.entries(RULES) as [RuleName, (typeof RULES)[RuleName]][]) {
      const rule = new Rule(this, definition.id, {
        ruleName: this.physicalRuleName(definition.id),
        eventBus: this.bus,
        description: definition.description,
        // Verbatim from lib/definitions/events.ts: the local router matches with the same object.
        eventPattern: asCdkPattern(definition.pattern),
      });
      if (definition.target.kind === 'queue') {
        rule.addTarget(new SqsQueue(this.queues[definition.target.queue].queue, this.targetProps()));
      }
      rules[name] = rule;
    }
    this.rules = rules;
    const inboundRules = {} as Record<InboundRuleName, Rule>;
    for (const [name, definition] of Object.entries(INBOUND_RULES) as [
      InboundRuleName,
      (typeof INBOUND_RULES)[InboundRuleName],
    ][]) {
      inboundRules[name] = new Rule(this, definition.id, {
        ruleName: this.physicalRuleName(definition.id),
        eventBus: this.inboundBus,
        description: definition.description,
        eventPattern: asCdkPattern(definition.pattern),
      });
    }
    this.inboundRules = inboundRules;
    this.node.addValidation({ validate: () => this.unboundFunctionRules() });

    this.dispatchTick = new Rule(this, 'DispatchTick', {
      ruleName: this.physicalRuleName('DispatchTick'),
      description: 'Periodic dispatch round, so waiting items are reconsidered even when no event arrives',
      schedule: Schedule.rate(Duration.minutes(DISPATCH_TICK_MINUTES)),
      targets: [
        new SqsQueue(this.queues.dispatch.queue, {
          ...this.targetProps(),
          messageGroupId: DISPATCH_MESSAGE_GROUP,
          // A `tick` DispatchMessage (domain/process.ts), stamped with the schedule's time; the
          // time also makes each tick's content, hence its FIFO deduplication id, unique.
          message: RuleTargetInput.fromObject({ kind: 'tick', reason: 'schedule', at: EventField.time }),
        }),
      ],
    });
  }

  /**
   * Adds the targets of the rules that route to a function (RULES entries of kind 'function').
   *
   * @param functionFor returns the deployed function of a FUNCTIONS key
   */
  bindFunctions(functionFor: (name: FunctionName) => IFunction): void {
    for (const [name, definition] of FUNCTION_RULES) {
      if (definition.target.kind !== 'function' || this.boundFunctionRules.has(name)) continue;
      const rule =
        name in this.rules ? this.rules[name as RuleName] : this.inboundRules[name as InboundRuleName];
      rule.addTarget(new LambdaFunction(functionFor(definition.target.fn), this.targetProps()));
      this.boundFunctionRules.add(name);
    }
  }

  /**
   * Lets a producer publish to the inbound bus (events:PutEvents on that bus only), e.g. the role
   * a same-account SaaS integration runs as.
   */
  grantProducerPutEvents(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.inboundBus.eventBusArn] }),
    );
  }

  /** Lets `grantee` publish events to Flowtune's bus (events:PutEvents on this bus only): Flowtune's own functions. */
  grantPutEvents(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
    );
  }

  /**
   * The bus resource policy for producers in other accounts: events:PutEvents of the inbound
   * detail-types only (the `events:detail-type` condition), and never as `source` flowtune.
   * Their own IAM policy must allow events:PutEvents on this bus's ARN too (README, "Deploying").
   */
  private allowProducers(producers: ProducerAccess): void {
    const accountIds = [...(producers.accountIds ?? [])];
    const bad = accountIds.filter((id) => !ACCOUNT_ID.test(id));
    if (bad.length > 0) {
      throw new Error(
        `producers.accountIds must be 12-digit AWS account ids; got ${bad.map((id) => JSON.stringify(id)).join(', ')}.`,
      );
    }
    const { organizationId } = producers;
    if (organizationId !== undefined && !ORGANIZATION_ID.test(organizationId)) {
      throw new Error(
        `producers.organizationId must be an AWS Organization id such as o-a1b2c3d4e5 (see aws organizations describe-organization); got ${JSON.stringify(organizationId)}.`,
      );
    }
    if (accountIds.length === 0 && organizationId === undefined) {
      throw new Error(
        'producers names no one: give accountIds (12-digit ids) or organizationId (o-...), or leave producers out.',
      );
    }
    const inboundOnly = {
      'events:detail-type': Object.keys(INBOUND_EVENTS),
    };
    const notAsFlowtune = { 'events:source': FLOWTUNE_SOURCE };
    if (accountIds.length > 0) {
      this.inboundBus.addToResourcePolicy(
        new PolicyStatement({
          sid: 'InboundFromProducerAccounts',
          principals: accountIds.map((id) => new AccountPrincipal(id)),
          actions: ['events:PutEvents'],
          resources: [this.inboundBus.eventBusArn],
          conditions: { StringEquals: inboundOnly, StringNotEquals: notAsFlowtune },
        }),
      );
    }
    if (organizationId !== undefined) {
      this.inboundBus.addToResourcePolicy(
        new PolicyStatement({
          sid: 'InboundFromProducerOrganization',
          principals: [new AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [this.inboundBus.eventBusArn],
          conditions: {
            StringEquals: { ...inboundOnly, 'aws:PrincipalOrgID': organizationId },
            StringNotEquals: notAsFlowtune,
          },
        }),
      );
    }
  }

  /** Lets `grantee` send dispatch-round triggers (sqs:SendMessage on the dispatch queue only). */
  grantTriggerDispatch(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queues.dispatch.queue.queueArn] }),
    );
    this.grantQueueKey(grantee);
  }

  /**
   * Lets `grantee` use the ingest key through SQS (kms:GenerateDataKey to send, kms:Decrypt to
   * receive), which every sender to and reader of a queue under it needs beside its SQS
   * permission; which queues it may use is still decided by that SQS permission. A no-op where
   * the queues have no customer-managed key.
   */
  grantQueueKey(grantee: IGrantable): void {
    if (this.key === undefined) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sqs.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }

  /**
   * Every rule with the names its CloudWatch metrics are keyed by (the bus name too for rules on
   * the custom bus). The names are set explicitly: a custom-bus rule's CloudFormation Ref is
   * `bus|rule` on AWS and plain `rule` on emulators, so no Ref-derived name works on both.
   */
  metricKeys(): readonly { readonly label: string; readonly ruleName: string; readonly busName?: string }[] {
    return [
      ...(Object.values(RULES) as (typeof RULES)[RuleName][]).map((definition) => ({
        label: definition.id,
        ruleName: this.physicalRuleName(definition.id),
        busName: this.bus.eventBusName,
      })),
      ...Object.values(INBOUND_RULES).map((definition) => ({
        label: definition.id,
        ruleName: this.physicalRuleName(definition.id),
        busName: this.inboundBus.eventBusName,
      })),
      { label: 'DispatchTick', ruleName: this.physicalRuleName('DispatchTick') },
    ];
  }

  /** Every dead-letter queue of the ingest path, named for dashboards and alarms. */
  deadLetterQueues(): readonly { readonly label: string; readonly queue: Queue }[] {
    return [
      { label: 'Rule delivery', queue: this.deliveryDeadLetterQueue },
      ...Object.values(this.queues).map((entry) => ({
        label: entry.definition.id,
        queue: entry.deadLetterQueue,
      })),
    ];
  }

  private physicalRuleName(id: string): string {
    return `${Stack.of(this).stackName}-${id}`;
  }

  private targetProps() {
    return {
      deadLetterQueue: this.deliveryDeadLetterQueue,
      retryAttempts: this.targetRetryAttempts,
      maxEventAge: this.targetMaxEventAge,
    };
  }

  private unboundFunctionRules(): string[] {
    return FUNCTION_RULES.filter(([name]) => !this.boundFunctionRules.has(name)).map(
      ([, definition]) =>
        `Rule ${definition.id} routes to a function but has no target; call EventIngest.bindFunctions() with the deployed functions.`,
    );
  }

  /** The ingest key and the policy that lets EventBridge and SQS, and nothing else, use it. */
  private createKey(): Key {
    const key = new Key(this, 'IngestKey', {
      description: 'Flowtune: encryption of the event bus, its archive and the ingest queues',
      enableKeyRotation: true,
      // The archive keeps events for a year: they must stay readable after a stack replacement.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Principals of this account use it only where their own IAM policy names it (grantQueueKey):
    // the default delegation to the account's IAM, no wildcard principal.
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeDeliversToEncryptedQueues',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    return key;
  }

  /**
   * The archive under the same key, with the key policy EventBridge needs for archives in exact
   * actions (CDK's `kmsKey` prop would add kms:ReEncrypt*).
   */
  private encryptArchive(archive: Archive, key: Key): void {
    (archive.node.defaultChild as CfnArchive).addPropertyOverride('KmsKeyIdentifier', key.keyArn);
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeArchivesThisBus',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: [
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            // The bus's name is a literal, so its ARN can be named here without a dependency cycle.
            'kms:EncryptionContext:aws:events:event-bus:arn': Stack.of(this).formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: (this.bus.node.defaultChild as CfnEventBus).name,
            }),
          },
        },
      }),
    );
  }

  private createWorkQueue(
    definition: QueueDefinition,
    deadLetterRetention: Duration,
    key: IKey | undefined,
  ): IngestQueue {
    const deadLetterQueue = createDeadLetterQueue(this, `${definition.id}DeadLetterQueue`, {
      fifo: definition.fifo,
      retentionPeriod: deadLetterRetention,
      ...(key === undefined ? {} : { encryptionKey: key }),
    });
    const queue = new Queue(this, definition.id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
      ...(definition.fifo
        ? {
            fifo: true,
            // Producers (the state machine, the tick, functions) send no deduplication id.
            contentBasedDeduplication: true,
            deduplicationScope: DeduplicationScope.QUEUE,
            fifoThroughputLimit: FifoThroughputLimit.PER_QUEUE,
          }
        : {}),
    });
    if (key !== undefined) encryptQueueWithKey(queue, key);
    return { definition, queue, deadLetterQueue };
  }
}

/**
 * The source filter shared by every inbound rule (events Flowtune emits itself never count as
 * inbound). Taken from the definitions rather than restated; the archive keeps exactly these events.
 */
function inboundSourcePattern(): EventPattern {
  const sources = new Set(Object.values(RULES).map((rule) => JSON.stringify(rule.pattern.source)));
  const [source] = sources;
  if (sources.size !== 1 || source === undefined) {
    throw new Error(
      `The inbound rules in lib/definitions/events.ts disagree on their source filter (${[...sources].join(' vs ')}); the archive needs one inbound filter.`,
    );
  }
  return { source: RULES.workItemCreated.pattern.source };
}

/**
 * The definitions use the EventBridge pattern language itself ('detail-type', 'anything-but'...);
 * CDK's EventPattern type names only plain string lists but renders any key verbatim, which the
 * infra tests check against the definitions.
 */
function asCdkPattern(pattern: EventPattern): CdkEventPattern {
  return pattern as CdkEventPattern;
}
