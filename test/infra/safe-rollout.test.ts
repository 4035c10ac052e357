import type { Template } from 'aws-cdk-lib/assertions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV } from '../../lib/definitions';
import type { FlowtuneStack } from '../../lib/flowtune-stack';
import { allows, logicalIdOf, resourcesOfType, statementsOfRole, synthFlowtune } from './support';

const { stack, template } = synthFlowtune();
const orchestration = stack.orchestration;
const ref = (construct: IConstruct) => ({ Ref: logicalIdOf(stack, construct) });

const FunctionEnvironment = z.object({
  Properties: z.object({ Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }) }),
});
const AliasPreference = z.object({
  Properties: z.object({ DeploymentPreference: z.object({ Alarms: z.array(z.unknown()) }) }),
});

/** The environment variables of a function as the template gives them. */
function variablesOf(of: Template, inStack: FlowtuneStack, fn: LambdaFunction): Record<string, unknown> {
  const found = resourcesOfType(of, 'AWS::Lambda::Function').find(([id]) => id === logicalIdOf(inStack, fn));
  return FunctionEnvironment.parse(found?.[1]).Properties.Environment.Variables;
}

function only(type: string) {
  const found = resourcesOfType(template, type);
  expect(found, type).toHaveLength(1);
  return found[0]?.[1] as NonNullable<(typeof found)[number]>[1];
}

describe('safe rollout of workflow changes', () => {
  it("publishes this deployment's definition as a version, retained for executions still running on it", () => {
    const version = only('AWS::StepFunctions::StateMachineVersion');

    expect(version.Properties).toMatchObject({
      StateMachineArn: ref(orchestration.stateMachine),
      StateMachineRevisionId: {
        'Fn::GetAtt': [logicalIdOf(stack, orchestration.stateMachine), 'StateMachineRevisionId'],
      },
    });
    expect(version.DeletionPolicy).toBe('Retain');
    expect(version.UpdateReplacePolicy).toBe('Retain');
  });

  it('puts the version behind an alias with a canary deployment preference (10% for 15 minutes)', () => {
    const alias = only('AWS::StepFunctions::StateMachineAlias');

    expect(alias.Properties).toMatchObject({
      Name: 'live',
      DeploymentPreference: {
        Type: 'CANARY',
        Percentage: 10,
        Interval: 15,
        StateMachineVersionArn: {
          'Fn::GetAtt': [logicalIdOf(stack, orchestration.version as IConstruct), 'Arn'],
        },
      },
    });
  });

  it('rolls back on the business KPIs: SLA attainment, throughput dips, prediction error, plus failed executions and dead letters', () => {
    const alias = only('AWS::StepFunctions::StateMachineAlias');
    const watched = AliasPreference.parse(alias).Properties.DeploymentPreference.Alarms;
    const observability = stack.observability;
    const expected = [
      observability.slaAttainmentAlarm,
      observability.throughputDipAlarm,
      observability.predictionErrorAlarm,
      observability.executionsFailedAlarm,
    ];

    for (const alarm of expected) {
      if (alarm === undefined) throw new Error('a rollout alarm is missing');
      // Alarm names, not ARNs: CloudFormation treats an unknown name as OK, so the name must resolve.
      expect(watched).toContainEqual(ref(alarm));
    }
    expect(watched).toHaveLength(observability.rolloutAlarms.length);
  });

  it('starts every execution through the alias, and lets the intake start executions only there and on the machine', () => {
    const intake = orchestration.functions.intake;
    const variables = variablesOf(template, stack, intake);
    const statements = statementsOfRole(template, logicalIdOf(stack, intake.role as IConstruct));

    expect(variables[ENV.stateMachineArn]).toEqual(ref(orchestration.alias as IConstruct));
    expect(
      statements.some((s) => allows(s, 'states:StartExecution', ref(orchestration.alias as IConstruct))),
    ).toBe(true);
  });

  it('publishes the alias ARN as a stack output', () => {
    template.hasOutput('StateMachineAliasArn', { Value: ref(orchestration.alias as IConstruct) });
  });

  it('leaves versions, alias and anomaly-detection alarms out on MiniStack, which cannot provision them, and starts executions on the machine there', () => {
    const onMiniStack = synthFlowtune({ emulator: 'ministack' });
    const types = new Set(
      Object.values(onMiniStack.template.toJSON().Resources as Record<string, { Type: string }>).map(
        (resource) => resource.Type,
      ),
    );
    const alarms = resourcesOfType(onMiniStack.template, 'AWS::CloudWatch::Alarm');
    const variables = variablesOf(
      onMiniStack.template,
      onMiniStack.stack,
      onMiniStack.stack.orchestration.functions.intake,
    );

    expect(types.has('AWS::StepFunctions::StateMachineVersion')).toBe(false);
    expect(types.has('AWS::StepFunctions::StateMachineAlias')).toBe(false);
    expect(alarms.filter(([, alarm]) => alarm.Properties?.Metrics !== undefined)).toEqual([]);
    expect(onMiniStack.stack.observability.slaAttainmentAlarm).toBeDefined();
    expect(variables[ENV.stateMachineArn]).toEqual({
      Ref: logicalIdOf(onMiniStack.stack, onMiniStack.stack.orchestration.stateMachine),
    });
  });

  it('refuses a canary share or interval Step Functions would reject, naming the bad value', () => {
    const fresh = synthFlowtune({ emulator: 'ministack' }).stack.orchestration;

    expect(() => fresh.publishBehindAlias({ alarms: [], canaryPercentage: 0 })).toThrow(
      /canaryPercentage must be 1-99 .* got 0/,
    );
    expect(() => fresh.publishBehindAlias({ alarms: [], canaryMinutes: 2.5 })).toThrow(
      /canaryMinutes must be a whole number of minutes from 1 to 2100; got 2.5/,
    );
  });
});
