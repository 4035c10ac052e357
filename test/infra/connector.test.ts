import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { Connector } from '../../lib/constructs/connector';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import {
  CONNECTOR_CONTEXT,
  CONNECTOR_ENV,
  CONNECTOR_FUNCTIONS,
  CONNECTOR_RULES,
  DEFAULT_CONNECTOR_AUTH_HEADER,
  DEFAULT_CONNECTOR_NAME,
  IDEMPOTENCY_TABLE,
} from '../../lib/definitions/connectors';
import { FlowtuneStack } from '../../lib/flowtune-stack';
import { compliancePacks, SKIP_ACKNOWLEDGEMENTS_CONTEXT } from '../../lib/nag';
import {
  actionsOf,
  allows,
  type CfnResourceJson,
  cdkJsonContext,
  identityStatements,
  logicalIdOf,
  resourcesOf,
  resourcesOfType,
  statementsOfRole,
} from './support';

const ENDPOINT = 'https://rpa.example.com/flowtune/deliveries';
const SYSTEM = 'rpa';
const definition = CONNECTOR_FUNCTIONS.connector;

/** The Flowtune stack as `cdk synth -c ...` builds it, with placeholder code instead of bundles. */
function synthWith(context: Record<string, unknown>, options: { skipAcknowledgements?: boolean } = {}) {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: options.skipAcknowledgements ?? false,
      ...context,
    },
  });
  const stack = new FlowtuneStack(app, 'Flowtune', { functionFactory: new TestFunctionFactory() });
  return { app, stack, template: Template.fromStack(stack) };
}

const withEndpoint = (extra: Record<string, unknown> = {}) =>
  synthWith({ [CONNECTOR_CONTEXT.endpoint]: ENDPOINT, [CONNECTOR_CONTEXT.name]: SYSTEM, ...extra });

/** Every finding of both cdk-nag packs, as `rule @ construct path`. */
function findings(app: App, under = ''): string[] {
  return compliancePacks()
    .flatMap((pack) => pack.validateScope(app).violations)
    .flatMap((violation) =>
      violation.violatingResources
        .filter((resource) => (resource.constructPath ?? '').startsWith(under))
        .map((resource) => `${violation.ruleName} @ ${resource.constructPath ?? ''}`),
    );
}

function acknowledgedIn(connector: Connector): string[] {
  return connector.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.keys(entry.data as Record<string, string>).map((id) => id.replace(/^annotation::/i, '')),
        ),
    );
}

describe('Connector construct, with flowtune:connectorEndpoint set', () => {
  const { app, stack, template } = withEndpoint();
  const connector = stack.flowtune.node.findChild('Connector') as Connector;
  const functionId = logicalIdOf(stack, connector.fn);
  const roleId = logicalIdOf(stack, connector.fn.role ?? connector.fn);
  const tableArn = { 'Fn::GetAtt': [logicalIdOf(stack, connector.idempotencyTable), 'Arn'] };

  it('is composed into the Flowtune stack from the context', () => {
    expect(connector).toBeInstanceOf(Connector);
    expect(connector.endpoint).toBe(ENDPOINT);
    expect(connector.systemName).toBe(SYSTEM);
  });

  it('keeps idempotency records in a table of the definition: key, TTL, on demand, under the tables KMS key', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey.name, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: IDEMPOTENCY_TABLE.partitionKey.name, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: IDEMPOTENCY_TABLE.timeToLiveAttribute, Enabled: true },
      PointInTimeRecoverySpecification: {
        PointInTimeRecoveryEnabled: IDEMPOTENCY_TABLE.pointInTimeRecovery,
      },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(stack, stack.storage.key), 'Arn'] },
      },
    });
  });

  it('runs the connector handler with its table, endpoint and name, a DLQ, tracing and encrypted logs kept three months', () => {
    const [, fn] = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === functionId) ?? [];
    const variables = (fn?.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)
      ?.Variables;

    expect(variables).toEqual({
      POWERTOOLS_SERVICE_NAME: 'flowtune-connector',
      POWERTOOLS_METRICS_NAMESPACE: 'Flowtune',
      [CONNECTOR_ENV.idempotencyTable]: { Ref: logicalIdOf(stack, connector.idempotencyTable) },
      [CONNECTOR_ENV.endpoint]: ENDPOINT,
      [CONNECTOR_ENV.name]: SYSTEM,
      [CONNECTOR_ENV.credentialSecretArn]: { Ref: logicalIdOf(stack, connector.credential) },
      [CONNECTOR_ENV.authHeader]: DEFAULT_CONNECTOR_AUTH_HEADER,
      [CONNECTOR_ENV.deadLetterQueueUrl]: { Ref: logicalIdOf(stack, connector.asyncFailureQueue) },
    });
    expect(JSON.stringify(variables)).not.toMatch(/Bearer|SecretString/);
    expect(fn?.Properties).toMatchObject({
      Description: definition.description,
      MemorySize: definition.memorySize,
      Timeout: definition.timeoutSeconds,
      Runtime: 'nodejs24.x',
      DeadLetterConfig: {
        TargetArn: { 'Fn::GetAtt': [logicalIdOf(stack, connector.asyncFailureQueue), 'Arn'] },
      },
      TracingConfig: { Mode: 'Active' },
    });
    const logGroupRef = (fn?.Properties?.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)
      ?.LogGroup?.Ref;
    const [, logGroup] =
      resourcesOfType(template, 'AWS::Logs::LogGroup').find(([id]) => id === logGroupRef) ?? [];
    expect(logGroup?.Properties?.RetentionInDays).toBe(90);
    expect(logGroup?.Properties?.KmsKeyId).toBeDefined();
  });

  it('routes WorkItemRouted of automation agents from the bus to the function, with a retry policy and the delivery DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: `Flowtune-${CONNECTOR_RULES.automationRouted.id}`,
      EventBusName: { Ref: logicalIdOf(stack, stack.ingest.bus) },
      EventPattern: CONNECTOR_RULES.automationRouted.pattern,
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [functionId, 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [logicalIdOf(stack, stack.ingest.deliveryDeadLetterQueue), 'Arn'] },
          },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 10 },
        }),
      ],
    });
  });

  it('may read and write its idempotency records (key through DynamoDB only), log, trace and dead-letter, and nothing else', () => {
    const statements = statementsOfRole(template, roleId);
    const granted = new Set(statements.flatMap((statement) => actionsOf(statement)));

    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ]) {
      expect(
        statements.some((statement) => allows(statement, action, tableArn)),
        action,
      ).toBe(true);
    }
    expect(
      [...granted].filter(
        (action) =>
          !/^(dynamodb|kms|logs|xray):/.test(action) &&
          action !== 'sqs:SendMessage' &&
          action !== 'secretsmanager:GetSecretValue',
      ),
    ).toEqual([]);
    const secretReads = statements.filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
    );
    expect(secretReads.map((statement) => [actionsOf(statement), resourcesOf(statement)])).toEqual([
      [['secretsmanager:GetSecretValue'], [{ Ref: logicalIdOf(stack, connector.credential) }]],
    ]);
    expect([...granted].filter((action) => /^dynamodb:(Query|Scan|Batch)/.test(action))).toEqual([]);
    const keyArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.storage.key), 'Arn'] };
    const onKey = statements.filter((statement) => allows(statement, 'kms:GenerateDataKey', keyArn));
    expect(onKey.map((statement) => statement.Condition)).toEqual([
      {
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        },
      },
    ]);
    const sendTargets = statements
      .filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))
      .flatMap((statement) => resourcesOf(statement));
    expect(sendTargets).toEqual([{ 'Fn::GetAtt': [logicalIdOf(stack, connector.asyncFailureQueue), 'Arn'] }]);
  });

  it('keeps the credential in a retained secret, blank until an operator puts the header value in, and says so', () => {
    const [, secret] =
      resourcesOfType(template, 'AWS::SecretsManager::Secret').find(
        ([id]) => id === logicalIdOf(stack, connector.credential),
      ) ?? [];

    expect(secret?.DeletionPolicy).toBe('Retain');
    expect(secret?.Properties?.GenerateSecretString).toBeUndefined();
    expect(String(secret?.Properties?.SecretString).trim()).toBe('');
    expect(secret?.Properties?.Description).toMatch(
      /Authorization header value rpa expects, e\.g\. "Bearer <token>"/,
    );
    expect(secret?.Properties?.Description).toMatch(/Blank .* sends no credential/);
    template.hasOutput('ConnectorCredentialSecretArn', {
      Value: { Ref: logicalIdOf(stack, connector.credential) },
      Description: Match.stringLikeRegexp('put-secret-value'),
    });
  });

  it('alarms on dead-lettered deliveries, to the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(stack, connector.asyncFailureQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
      AlarmActions: [{ Ref: logicalIdOf(stack, stack.observability.alarmTopic) }],
      AlarmDescription: Match.stringLikeRegexp(`delivered to ${SYSTEM}`),
    });
  });

  it('outputs the function and its dead-letter queue under fixed names, for operators and redrive', () => {
    template.hasOutput('ConnectorFunctionName', { Value: { Ref: functionId } });
    template.hasOutput('ConnectorDeadLetterQueueUrl', {
      Value: { Ref: logicalIdOf(stack, connector.asyncFailureQueue) },
    });
  });

  it('has no unacknowledged cdk-nag finding anywhere in the stack (AwsSolutions and Serverless)', () => {
    expect(findings(app)).toEqual([]);
  });

  it('acknowledges on the connector only reviewed kinds of finding, each one raised without it', () => {
    // The reviewed kinds of test/infra/nag.test.ts that the connector can raise.
    const reviewed = ['AwsSolutions-IAM5[Resource::*]', 'AwsSolutions-SMG4', 'Serverless-SQSRedrivePolicy'];
    const bare = withEndpoint({ [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: true });
    const raised = new Set(
      findings(bare.app, 'Flowtune/Default/Connector/').map(
        (finding) => finding.split(' @ ')[0]?.split('[')[0],
      ),
    );

    const acknowledged = acknowledgedIn(connector);

    expect(new Set(acknowledged)).toEqual(new Set(reviewed));
    for (const id of acknowledged)
      expect(raised, `${id} is acknowledged but never raised`).toContain(id.split('[')[0]);
  });

  it('grants no wildcard action, and a wildcard resource only to X-Ray, in the whole stack', () => {
    const allow = identityStatements(template).filter(({ statement }) => statement.Effect === 'Allow');

    const wildcardActions = allow.flatMap(({ statement }) =>
      actionsOf(statement).filter((action) => action.includes('*')),
    );
    const onAnyResource = allow
      .filter(({ policy }) => policy.startsWith('Connector'))
      .filter(({ statement }) =>
        resourcesOf(statement).some((resource) => JSON.stringify(resource).includes('*')),
      )
      .flatMap(({ statement }) => actionsOf(statement));

    expect(wildcardActions).toEqual([]);
    expect(onAnyResource.every((action) => action.startsWith('xray:'))).toBe(true);
  });
});

describe('Connector construct, without the context', () => {
  const { stack, template } = synthWith({});

  it('is not built, and synth says so once as information, not as a warning or an error', () => {
    const annotations = Annotations.fromStack(stack);
    const infos = annotations.findInfo('*', Match.stringLikeRegexp(CONNECTOR_CONTEXT.endpoint));

    expect(stack.flowtune.node.tryFindChild('Connector')).toBeUndefined();
    expect(infos).toHaveLength(1);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('connector'))).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    template.resourcePropertiesCountIs(
      'AWS::Events::Rule',
      { Name: `Flowtune-${CONNECTOR_RULES.automationRouted.id}` },
      0,
    );
    expect(Object.keys(template.findOutputs('ConnectorFunctionName'))).toEqual([]);
  });

  it('leaves the stack as it was: one table per TABLES entry, none for idempotency', () => {
    const withIt = withEndpoint().template;

    expect(
      resourcesOfType(withIt, 'AWS::DynamoDB::Table').length -
        resourcesOfType(template, 'AWS::DynamoDB::Table').length,
    ).toBe(1);
    expect(
      resourcesOfType(template, 'AWS::Lambda::Function').some(
        ([, fn]: [string, CfnResourceJson]) => fn.Properties?.Description === definition.description,
      ),
    ).toBe(false);
  });
});

describe('Connector context validation', () => {
  it('names the system "executing-system" when only the endpoint is given', () => {
    const { stack } = synthWith({ [CONNECTOR_CONTEXT.endpoint]: ENDPOINT });

    expect((stack.flowtune.node.findChild('Connector') as Connector).systemName).toBe(DEFAULT_CONNECTOR_NAME);
  });

  it('refuses an endpoint that is not https, showing the value and the fix', () => {
    expect(() => synthWith({ [CONNECTOR_CONTEXT.endpoint]: 'http://rpa.example.com/in' })).toThrow(
      /"http:\/\/rpa\.example\.com\/in" must use https/,
    );
    expect(() => synthWith({ [CONNECTOR_CONTEXT.endpoint]: 'rpa.example.com' })).toThrow(
      /"rpa\.example\.com" is not a URL.*-c flowtune:connectorEndpoint=https:/,
    );
  });

  it('refuses credentials in the endpoint and a name unfit for logs and metrics', () => {
    expect(() =>
      synthWith({ [CONNECTOR_CONTEXT.endpoint]: 'https://user:secret@rpa.example.com/in' }),
    ).toThrow(/must not carry credentials/);
    expect(() => withEndpoint({ [CONNECTOR_CONTEXT.name]: 'rpa; drop' })).toThrow(/"rpa; drop" must be 1-64/);
  });

  it('puts the credential in the header the context names, and refuses one that is no header or is the connector own', () => {
    const { stack, template } = withEndpoint({ [CONNECTOR_CONTEXT.authHeader]: 'X-Api-Key' });
    const connector = stack.flowtune.node.findChild('Connector') as Connector;

    expect(connector.authHeader).toBe('X-Api-Key');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [CONNECTOR_ENV.authHeader]: 'X-Api-Key' }) },
    });
    expect(() => withEndpoint({ [CONNECTOR_CONTEXT.authHeader]: 'Api Key' })).toThrow(
      /"Api Key" must be an HTTP header name.*flowtune:connectorAuthHeader/,
    );
    expect(() => withEndpoint({ [CONNECTOR_CONTEXT.authHeader]: 'Idempotency-Key' })).toThrow(
      /"Idempotency-Key" must be an HTTP header name other than/,
    );
  });
});
