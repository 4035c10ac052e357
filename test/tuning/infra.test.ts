import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import { FEATURES_TABLE, INSTANCES_TABLE } from '../../lib/definitions';
import { DRIFT_METRIC, TUNING_FUNCTIONS, TUNING_RULES, TUNING_SCHEDULE } from '../../lib/definitions/tuning';
import { FlowtuneStack } from '../../lib/flowtune-stack';
import { compliancePacks, SKIP_ACKNOWLEDGEMENTS_CONTEXT } from '../../lib/nag';
import { compileEventPattern } from '../../local/event-pattern';
import {
  actionsOf,
  cdkJsonContext,
  identityStatements,
  logicalIdOf,
  refsIn,
  resourcesOf,
  resourcesOfType,
} from '../infra/support';

/** The Tuning construct as the Flowtune stack composes it, with placeholder code instead of bundles. */
function synth(skipAcknowledgements = false) {
  const app = new App({
    context: { ...cdkJsonContext(), [SKIP_ACKNOWLEDGEMENTS_CONTEXT]: skipAcknowledgements },
  });
  const stack = new FlowtuneStack(app, 'Flowtune', { functionFactory: new TestFunctionFactory() });
  return { app, stack, tuning: stack.tuning, template: Template.fromStack(stack) };
}

/** Findings of both cdk-nag packs on the Tuning construct's resources. */
function tuningFindings(app: App): string[] {
  return compliancePacks()
    .flatMap((pack) => pack.validateScope(app).violations)
    .flatMap((violation) =>
      violation.violatingResources
        .filter((resource) => (resource.constructPath ?? '').startsWith('Flowtune/Default/Tuning/'))
        .map((resource) => `${violation.ruleName} @ ${resource.constructPath ?? ''}`),
    );
}

describe('Tuning construct', () => {
  const { app, stack, tuning, template } = synth();

  it('has no unacknowledged cdk-nag finding (AwsSolutions and Serverless)', () => {
    expect(tuningFindings(app)).toEqual([]);
  });

  it('acknowledges only findings that exist', () => {
    const bare = synth(true);
    const acknowledged = tuning.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) =>
            Object.keys(entry.data as Record<string, string>).map((id) => id.replace(/^annotation::/i, '')),
          ),
      );
    const raised = new Set(tuningFindings(bare.app).map((finding) => finding.split(' @ ')[0]?.split('[')[0]));

    expect(acknowledged.length).toBeGreaterThan(0);
    for (const id of acknowledged)
      expect(raised, `${id} is acknowledged but never raised`).toContain(id.split('[')[0]);
  });

  it('runs the workflow as a Standard state machine with every placeholder substituted, on a schedule', () => {
    const [machine] = Object.values(
      template.findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'Flowtune-Tuning' },
      }),
    );
    expect(machine?.Properties?.StateMachineType).toBe('STANDARD');
    expect(JSON.stringify(machine?.Properties?.DefinitionSubstitutions)).toContain('TuningCycleFunctionArn');
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: `Flowtune-${TUNING_SCHEDULE.id}`,
      ScheduleExpression: `rate(${TUNING_SCHEDULE.rateMinutes} minutes)`,
      Targets: Match.arrayWith([
        Match.objectLike({
          Arn: { Ref: stack.getLogicalId(tuning.stateMachine.node.defaultChild as never) },
        }),
      ]),
    });
  });

  it('feeds the observe function from the bus with the pattern of its definition, dead-lettered', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: `Flowtune-${TUNING_RULES.observations.id}`,
      EventPattern: TUNING_RULES.observations.pattern,
      Targets: Match.arrayWith([
        Match.objectLike({ DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }) }),
      ]),
    });
  });

  it('renders the observation pattern verbatim, $or included', () => {
    // Prepare
    const rules = Object.values(template.findResources('AWS::Events::Rule')).filter(
      (rule) => rule.Properties?.Name === `Flowtune-${TUNING_RULES.observations.id}`,
    );

    // Assess
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties?.EventPattern).toEqual(TUNING_RULES.observations.pattern);
  });

  it('observes producers’ arrivals, completions and cancellations and Flowtune’s routings and escalations, nothing else', () => {
    // Prepare
    const matches = compileEventPattern(TUNING_RULES.observations.pattern);
    const event = (source: string, detailType: string) => ({
      version: '0',
      id: 'e-1',
      source,
      'detail-type': detailType,
      account: '111122223333',
      time: '2026-11-20T09:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: { id: 'HD-1' },
    });

    // Act
    const taken = [
      ['helpdesk', 'WorkItemCreated'],
      ['helpdesk', 'WorkItemCompleted'],
      ['helpdesk', 'WorkItemCancelled'],
      ['flowtune', 'WorkItemRouted'],
      ['flowtune', 'WorkItemEscalated'],
      ['flowtune', 'WorkItemCreated'],
      ['flowtune', 'WorkItemCompleted'],
      ['helpdesk', 'WorkItemRouted'],
      ['helpdesk', 'WorkItemEscalated'],
      ['flowtune', 'DriftDetected'],
      ['workforce', 'AgentStatusChanged'],
    ].filter(([source = '', detailType = '']) => matches(event(source, detailType)));

    // Assess
    expect(taken).toEqual([
      ['helpdesk', 'WorkItemCreated'],
      ['helpdesk', 'WorkItemCompleted'],
      ['helpdesk', 'WorkItemCancelled'],
      ['flowtune', 'WorkItemRouted'],
      ['flowtune', 'WorkItemEscalated'],
    ]);
  });

  it('gives each function the tables its definition declares, by environment variable', () => {
    for (const definition of Object.values(TUNING_FUNCTIONS)) {
      const variables: Record<string, unknown> = {};
      for (const { table } of definition.tables) variables[table.envVar] = Match.anyValue();
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: definition.description,
        Environment: { Variables: Match.objectLike(variables) },
      });
    }
    expect(TUNING_FUNCTIONS.tuningObserve.tables.map((entry) => entry.table.id)).toEqual([
      FEATURES_TABLE.id,
      INSTANCES_TABLE.id,
    ]);
  });

  it('lets the ops API function, and no other role, resume a tuning approval, on the tuning state machine only', () => {
    const machine = { Ref: logicalIdOf(stack, tuning.stateMachine) };
    const resuming = identityStatements(template).filter(({ statement }) =>
      actionsOf(statement).some((action) => action === 'states:SendTaskSuccess'),
    );
    const rolesOf = (policy: string) =>
      refsIn(
        resourcesOfType(template, 'AWS::IAM::Policy').find(([id]) => id === policy)?.[1].Properties?.Roles,
      );
    const role = stack.orchestration.functions.opsApi.role;
    if (role === undefined) throw new Error('the ops function has no execution role');
    const opsRole = logicalIdOf(stack, role);

    const onTuning = resuming.filter(({ statement }) =>
      resourcesOf(statement).some((resource) => JSON.stringify(resource) === JSON.stringify(machine)),
    );
    expect(onTuning.flatMap(({ policy }) => rolesOf(policy))).toEqual([opsRole]);
    for (const { statement } of onTuning) {
      expect([...actionsOf(statement)].sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
      expect(resourcesOf(statement)).toEqual([machine]);
    }
  });

  it('alarms on drift and on failing cycles, to the alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: DRIFT_METRIC.name,
      Namespace: DRIFT_METRIC.namespace,
      Dimensions: [{ Name: 'service', Value: DRIFT_METRIC.service }],
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      AlarmActions: Match.anyValue(),
    });
  });
});
