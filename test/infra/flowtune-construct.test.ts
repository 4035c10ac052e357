import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import { Flowtune } from '../../lib/flowtune';
import { compliancePacks, SKIP_ACKNOWLEDGEMENTS_CONTEXT } from '../../lib/nag';
import {
  allows,
  cdkJsonContext,
  logicalIdOf,
  resourcesOfType,
  statementsOfRole,
  synthFlowtune,
} from './support';

/** Flowtune as a customer uses it: one construct inside their own stack, beside their own resources. */
function inCustomerStack() {
  const app = new App({ context: { ...cdkJsonContext(), [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: false } });
  const stack = new Stack(app, 'CustomerStack');
  const opsTopic = new Topic(stack, 'OpsTopic', { enforceSSL: true });
  const helpdesk = new Role(stack, 'HelpdeskRole', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  const flowtune = new Flowtune(stack, 'Flowtune', {
    functionFactory: new TestFunctionFactory(),
    alarmTopic: opsTopic,
    logRetention: RetentionDays.ONE_YEAR,
    connector: { endpoint: 'https://rpa.example.com/flowtune', systemName: 'rpa' },
  });
  flowtune.grantPutEvents(helpdesk);
  return { app, stack, opsTopic, helpdesk, flowtune, template: Template.fromStack(stack) };
}

function findings(app: App): string[] {
  return compliancePacks()
    .flatMap((pack) => pack.validateScope(app).violations)
    .flatMap((violation) =>
      violation.violatingResources.map(
        (resource) => `${violation.ruleName} @ ${resource.constructPath ?? ''}`,
      ),
    );
}

describe('Flowtune construct inside a customer stack', () => {
  const customer = inCustomerStack();
  const { stack, template, flowtune } = customer;

  it('passes both cdk-nag packs with the customer resources beside it', () => {
    // The customer's own topic is theirs to encrypt; only Flowtune's resources are judged here.
    expect(findings(customer.app).filter((finding) => finding.includes('/Flowtune/'))).toEqual([]);
  });

  it('exposes the bus, the tables, the API and the state machine as members', () => {
    expect(flowtune.bus).toBe(flowtune.ingest.bus);
    expect(flowtune.api).toBe(flowtune.opsApi.api);
    expect(flowtune.stateMachine).toBe(flowtune.orchestration.stateMachine);
    expect(Object.keys(flowtune.tables)).toEqual(['features', 'instances', 'audit']);
    expect(resourcesOfType(template, 'AWS::DynamoDB::Table').map(([id]) => id)).toEqual(
      expect.arrayContaining([
        logicalIdOf(stack, flowtune.tables.features),
        logicalIdOf(stack, flowtune.tables.instances),
        logicalIdOf(stack, flowtune.tables.audit),
      ]),
    );
  });

  it('grantPutEvents lets a principal put events on the inbound bus only', () => {
    const statements = statementsOfRole(template, logicalIdOf(stack, customer.helpdesk));
    const busArn = { 'Fn::GetAtt': [logicalIdOf(stack, flowtune.inboundBus), 'Arn'] };

    expect(statements.some((statement) => allows(statement, 'events:PutEvents', busArn))).toBe(true);
    expect(statements).toHaveLength(1);
  });

  it('notifies the given alarm topic and creates none of its own', () => {
    expect(resourcesOfType(template, 'AWS::SNS::Topic')).toHaveLength(1);
    expect(flowtune.alarmTopic).toBe(customer.opsTopic);
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm');
    const withActions = alarms.filter(([, alarm]) => alarm.Properties?.AlarmActions !== undefined);

    expect(withActions.length).toBeGreaterThan(5);
    for (const [id, alarm] of withActions) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([{ Ref: logicalIdOf(stack, customer.opsTopic) }]);
    }
  });

  it('builds the connector from its props, without any CDK context', () => {
    expect(flowtune.connector?.endpoint).toBe('https://rpa.example.com/flowtune');
    expect(flowtune.connector?.systemName).toBe('rpa');
  });

  it('keeps every Flowtune log for the retention it was given', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');

    expect(groups.length).toBeGreaterThan(5);
    for (const [id, group] of groups) expect(group.Properties?.RetentionInDays, id).toBe(365);
  });

  it('names its outputs as the ready app does, so the ops CLI reads either deployment', () => {
    // RestApi adds its own endpoint output, named after its construct path: not one the CLI reads.
    const ours = (of: Template) =>
      Object.keys(of.findOutputs('*')).filter((id) => !/ApiEndpoint[0-9A-F]{8}$/.test(id));
    const app = ours(synthFlowtune().template);
    const construct = ours(template);

    expect(construct).toEqual(expect.arrayContaining(app));
    expect(construct.filter((id) => !app.includes(id)).every((id) => id.startsWith('Connector'))).toBe(true);
  });

  it('has the resources of the ready app, one for one', () => {
    const ready = synthFlowtune({
      context: { 'flowtune:connectorEndpoint': 'https://rpa.example.com/flowtune' },
    });
    const count = (of: Template) => {
      const counts: Record<string, number> = {};
      for (const { Type } of Object.values(of.toJSON().Resources as Record<string, { Type: string }>)) {
        counts[Type] = (counts[Type] ?? 0) + 1;
      }
      return counts;
    };
    const expected = count(ready.template);
    // The customer's role, policy and topic replace the alarm topic and its key.
    expected['AWS::SNS::Topic'] = 1;
    expected['AWS::KMS::Key'] = (expected['AWS::KMS::Key'] ?? 0) - 1;
    expected['AWS::IAM::Role'] = (expected['AWS::IAM::Role'] ?? 0) + 1;
    expected['AWS::IAM::Policy'] = (expected['AWS::IAM::Policy'] ?? 0) + 1;

    expect(count(template)).toEqual(expected);
  });
});

describe('FlowtuneStack, the ready app', () => {
  it('holds one Flowtune under the id CDK leaves out of logical ids, so deployed stacks update in place', () => {
    const { stack, template } = synthFlowtune();

    expect(stack.flowtune.node.id).toBe('Default');
    expect(logicalIdOf(stack, stack.flowtune.bus)).toMatch(/^EventIngestBus[0-9A-F]{8}$/);
    template.hasOutput('EventBusName', { Value: Match.anyValue() });
  });
});
