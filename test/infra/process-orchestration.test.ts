import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type EnvKey, envKeysFromDefinition } from '../../lambdas/shared/env';
import {
  ENV,
  FUNCTIONS,
  type FunctionDefinition,
  type FunctionName,
  PROCESS_INSTANCE,
  PROJECT_ROOT,
  QUEUES,
  TABLES,
} from '../../lib/definitions';
import { ALLOCATION_FUNCTIONS } from '../../lib/definitions/allocation';
import { TUNING_FUNCTIONS } from '../../lib/definitions/tuning';
import {
  allows,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOfType,
  statementsOfRole,
  synthFlowtune,
} from './support';

const { stack, template } = synthFlowtune();
const orchestration = stack.orchestration;
const getAtt = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalIdOf(stack, construct), 'Arn'] });
const functionEntries = Object.entries(FUNCTIONS) as [FunctionName, FunctionDefinition][];

function functionResource(name: FunctionName) {
  const logicalId = logicalIdOf(stack, orchestration.functions[name]);
  const found = resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === logicalId);
  if (found === undefined) throw new Error(`function ${name} (${logicalId}) is not in the template`);
  return found[1].Properties ?? {};
}

function roleStatements(name: FunctionName): PolicyStatementJson[] {
  const role = orchestration.functions[name].role;
  if (role === undefined) throw new Error(`function ${name} has no role`);
  return statementsOfRole(template, logicalIdOf(stack, role));
}

const stateMachineRoleStatements = () =>
  statementsOfRole(template, logicalIdOf(stack, orchestration.stateMachine.role));

function stateMachineProperties() {
  const [entry] = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
  if (entry === undefined) throw new Error('no state machine in the template');
  return entry[1].Properties ?? {};
}

interface AslTask {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
}

describe('ProcessOrchestration functions', () => {
  it('deploys one Lambda per entry of FUNCTIONS', () => {
    // The tuning loop's and the allocation job's functions are composed into the same stack.
    template.resourceCountIs(
      'AWS::Lambda::Function',
      functionEntries.length +
        Object.keys(TUNING_FUNCTIONS).length +
        Object.keys(ALLOCATION_FUNCTIONS).length,
    );
  });

  it.each(functionEntries)(
    'runs %s on Node.js 24, arm64, with active tracing and its sizing',
    (name, definition) => {
      const properties = functionResource(name);

      expect(properties.Runtime).toBe('nodejs24.x');
      expect(properties.Architectures).toEqual(['arm64']);
      expect(properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(properties.MemorySize).toBe(definition.memorySize);
      expect(properties.Timeout).toBe(definition.timeoutSeconds);
    },
  );

  it.each(functionEntries)(
    'gives %s every environment variable its handler loads, plus Powertools settings',
    (name) => {
      const variables = (functionResource(name).Environment as { Variables: Record<string, unknown> })
        .Variables;
      const expected = envKeysFromDefinition(name).map((key) => ENV[key]);

      expect(Object.keys(variables)).toEqual(expect.arrayContaining(expected));
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Flowtune');
      expect(variables.POWERTOOLS_SERVICE_NAME).toBe(`flowtune-${FUNCTIONS[name].entry.split('/').at(-2)}`);
    },
  );

  it('provides every variable each handler requires at cold start (its exported requiredEnv)', async () => {
    const RequiredEnv = z.array(z.enum(Object.keys(ENV) as [EnvKey, ...EnvKey[]]));
    const missing: string[] = [];
    for (const [name, definition] of functionEntries) {
      const handlerModule: unknown = await import(join(PROJECT_ROOT, definition.entry));
      const required = RequiredEnv.parse((handlerModule as { requiredEnv?: unknown }).requiredEnv);
      const variables = (functionResource(name).Environment as { Variables: Record<string, unknown> })
        .Variables;
      for (const key of required) if (!(ENV[key] in variables)) missing.push(`${name}:${ENV[key]}`);
    }

    expect(missing).toEqual([]);
  });

  it('passes the state machine ARN to the functions that start executions', () => {
    for (const [name, definition] of functionEntries.filter(([, candidate]) => candidate.startsExecutions)) {
      const variables = (functionResource(name).Environment as { Variables: Record<string, unknown> })
        .Variables;
      // Executions start through the `live` alias, so a canary deployment governs new items.
      const alias = orchestration.alias;
      expect(alias, 'the stack publishes the state machine behind an alias').toBeDefined();
      if (alias) expect(variables[ENV.stateMachineArn], name).toEqual({ Ref: logicalIdOf(stack, alias) });
      expect(definition.startsExecutions).toBe(true);
    }
  });

  it.each(functionEntries)('logs %s to its own encrypted log group with a retention period', (name) => {
    const logGroupRef = (functionResource(name).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    const [, logGroup] =
      resourcesOfType(template, 'AWS::Logs::LogGroup').find(([id]) => id === logGroupRef) ?? [];

    expect(logGroup?.Properties?.RetentionInDays).toBe(90);
    expect(logGroup?.Properties?.KmsKeyId).toEqual(getAtt(orchestration.logsKey));
  });

  it.each(Object.entries(QUEUES))(
    'drains the %s queue with its consumer, batch size and partial batch failures',
    (name, definition) => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(stack, orchestration.functions[definition.consumer]) },
        EventSourceArn: getAtt(stack.ingest.queues[name as keyof typeof QUEUES].queue),
        BatchSize: definition.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    },
  );

  it('dead-letters failed asynchronous invocations of the rule-target functions', () => {
    for (const name of ['completion', 'agentStatus'] as const) {
      expect(functionResource(name).DeadLetterConfig).toEqual({
        TargetArn: getAtt(orchestration.asyncFailureQueue),
      });
    }
  });
});

describe('ProcessOrchestration function permissions', () => {
  it.each(functionEntries)(
    'grants %s exactly the table access its definition declares',
    (name, definition) => {
      const statements = roleStatements(name);

      for (const table of TABLES) {
        const tableArn = getAtt(stack.storage.table(table));
        const declared = definition.tables.find((entry) => entry.table.id === table.id);
        const can = (action: string) => statements.some((statement) => allows(statement, action, tableArn));
        expect(can('dynamodb:GetItem'), `${name} reads ${table.id}`).toBe(declared !== undefined);
        expect(can('dynamodb:PutItem'), `${name} writes ${table.id}`).toBe(declared?.access === 'readWrite');
      }
    },
  );

  it.each(functionEntries)(
    'lets %s put events, trigger dispatch, start or resume executions only when declared',
    (name, definition) => {
      const statements = roleStatements(name);
      const can = (action: string, resource: unknown) =>
        statements.some((statement) => allows(statement, action, resource));
      const stateMachineArn = {
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':states:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:stateMachine:Flowtune-${PROCESS_INSTANCE.id}`,
          ],
        ],
      };

      expect(can('events:PutEvents', getAtt(stack.ingest.bus))).toBe(definition.putsEvents);
      expect(can('sqs:SendMessage', getAtt(stack.ingest.queues.dispatch.queue))).toBe(
        definition.triggersDispatch,
      );
      expect(can('states:StartExecution', stateMachineArn)).toBe(definition.startsExecutions);
      for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat']) {
        expect(can(action, stateMachineArn), action).toBe(definition.resumesExecutions);
      }
    },
  );

  it('grants on the ARN the state machine really has', () => {
    expect(stateMachineProperties().StateMachineName).toBe(`Flowtune-${PROCESS_INSTANCE.id}`);
  });
});

describe('ProcessOrchestration state machine', () => {
  const definition = JSON.parse(orchestration.definitionText) as { States: Record<string, AslTask> };

  it('is a Standard state machine', () => {
    expect(stateMachineProperties().StateMachineType).toBe('STANDARD');
  });

  it('inlines the ASL file unchanged, so every state is in the template', () => {
    const inlined = JSON.parse(stateMachineProperties().DefinitionString as string) as typeof definition;

    expect(Object.keys(inlined.States)).toEqual(Object.keys(definition.States));
    expect(inlined).toEqual(definition);
  });

  it('logs ALL events to its encrypted log group and traces with X-Ray', () => {
    const logGroupArn = getAtt(orchestration.node.findChild(`${PROCESS_INSTANCE.id}Logs`) as IConstruct);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        Level: 'ALL',
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: logGroupArn } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/vendedlogs/states/Flowtune-${PROCESS_INSTANCE.id}`,
      KmsKeyId: getAtt(orchestration.logsKey),
      RetentionInDays: Match.anyValue(),
    });
  });

  it('substitutes every placeholder PROCESS_INSTANCE declares with a resource of the stack', () => {
    const substitutions = stateMachineProperties().DefinitionSubstitutions as Record<string, unknown>;

    expect(Object.keys(substitutions).sort()).toEqual([...PROCESS_INSTANCE.placeholders].sort());
    for (const [name, fn] of functionEntries) {
      if (fn.placeholder !== undefined) {
        expect(substitutions[fn.placeholder]).toEqual(getAtt(orchestration.functions[name]));
      }
    }
    for (const table of TABLES.filter((candidate) => candidate.placeholder in substitutions)) {
      expect(substitutions[table.placeholder]).toEqual({
        Ref: logicalIdOf(stack, stack.storage.table(table)),
      });
    }
    expect(substitutions.EventBusName).toEqual({ Ref: logicalIdOf(stack, stack.ingest.bus) });
    expect(substitutions.DispatchQueueUrl).toEqual({
      Ref: logicalIdOf(stack, stack.ingest.queues.dispatch.queue),
    });
  });

  /** The permission a Task needs, read from the ASL the same way Step Functions reads it. */
  function requiredPermission(
    task: AslTask,
    substitutions: Record<string, unknown>,
  ): { action: string; resource: unknown }[] {
    const resource = task.Resource ?? '';
    const placeholder = (value: unknown) => {
      const match = typeof value === 'string' ? /^\$\{([A-Za-z0-9]+)\}$/.exec(value) : null;
      if (match?.[1] === undefined)
        throw new Error(`expected a \${Placeholder}, got ${JSON.stringify(value)}`);
      return substitutions[match[1]];
    };
    const tableArnFor = (value: unknown) => {
      const tableRef = placeholder(value) as { Ref: string };
      return { 'Fn::GetAtt': [tableRef.Ref, 'Arn'] };
    };
    const parameters = task.Parameters ?? {};
    if (/^\$\{[A-Za-z0-9]+\}$/.test(resource))
      return [{ action: 'lambda:InvokeFunction', resource: placeholder(resource) }];
    if (resource.startsWith('arn:aws:states:::lambda:invoke')) {
      return [{ action: 'lambda:InvokeFunction', resource: placeholder(parameters.FunctionName) }];
    }
    const dynamo = /^arn:aws:states:::dynamodb:(\w+)$/.exec(resource);
    if (dynamo?.[1] !== undefined) {
      const action = `dynamodb:${dynamo[1].charAt(0).toUpperCase()}${dynamo[1].slice(1)}`;
      return [{ action, resource: tableArnFor(parameters.TableName) }];
    }
    // DynamoDB authorises each Update of a transaction as UpdateItem on its own table.
    if (resource === 'arn:aws:states:::aws-sdk:dynamodb:transactWriteItems') {
      const items = (parameters.TransactItems ?? []) as { Update?: { TableName?: unknown } }[];
      expect(items.length).toBeGreaterThan(0);
      return items.map((item) => {
        expect(item.Update).toBeDefined();
        return { action: 'dynamodb:UpdateItem', resource: tableArnFor(item.Update?.TableName) };
      });
    }
    if (resource === 'arn:aws:states:::events:putEvents') {
      return [{ action: 'events:PutEvents', resource: getAtt(stack.ingest.bus) }];
    }
    if (resource.startsWith('arn:aws:states:::sqs:sendMessage')) {
      expect(placeholder(parameters.QueueUrl)).toEqual({
        Ref: logicalIdOf(stack, stack.ingest.queues.dispatch.queue),
      });
      return [{ action: 'sqs:SendMessage', resource: getAtt(stack.ingest.queues.dispatch.queue) }];
    }
    throw new Error(
      `no IAM mapping for Task resource ${resource}: grant it in ProcessOrchestration and map it here`,
    );
  }

  const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');

  it.each(tasks)('holds explicit IAM for the integration of Task "%s"', (_, task) => {
    const substitutions = stateMachineProperties().DefinitionSubstitutions as Record<string, unknown>;
    const permissions = requiredPermission(task, substitutions);

    for (const { action, resource } of permissions) {
      expect(stateMachineRoleStatements().some((statement) => allows(statement, action, resource))).toBe(
        true,
      );
    }
  });

  it('rejects an ASL that uses a placeholder PROCESS_INSTANCE does not declare, naming it', () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'undeclared-placeholder.asl.json');

    expect(() => synthFlowtune({ processDefinitionFile: fixture })).toThrow(/UndeclaredQueueUrl/);
  });
});
