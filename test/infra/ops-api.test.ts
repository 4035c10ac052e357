import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BACKLOG_SNAPSHOT_REQUEST,
  OPS_ROUTES,
  type OpsRoute,
  REQUEST_BODIES,
  type RequestBodyName,
  requestBodyJsonSchema,
} from '../../domain/ops/api';
import { TestFunctionFactory } from '../../lib/constructs/function-factory';
import { FlowtuneStack } from '../../lib/flowtune-stack';
import {
  allows,
  cdkJsonContext,
  logicalIdOf,
  resourcesOfType,
  statementsOfRole,
  synthFlowtune,
} from './support';

const { stack, template } = synthFlowtune();
const ops = stack.opsApi;
const ref = (construct: IConstruct) => ({ Ref: logicalIdOf(stack, construct) });
const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalIdOf(stack, construct), attribute],
});
const routes = OPS_ROUTES as readonly OpsRoute[];

const MethodProperties = z.object({
  HttpMethod: z.string(),
  AuthorizationType: z.string(),
  ResourceId: z.unknown(),
  RequestValidatorId: z.unknown().optional(),
  RequestModels: z.record(z.string(), z.string()).optional(),
  RequestParameters: z.record(z.string(), z.boolean()).optional(),
  Integration: z.object({ Type: z.string(), IntegrationHttpMethod: z.string(), Uri: z.unknown() }),
});

/** Every API method with the resource path it hangs on, rebuilt from the Resource tree. */
function methods(): { path: string; properties: z.infer<typeof MethodProperties> }[] {
  const resources = new Map(
    resourcesOfType(template, 'AWS::ApiGateway::Resource').map(([id, resource]) => [
      id,
      resource.Properties ?? {},
    ]),
  );
  const rootId = JSON.stringify(getAtt(ops.api, 'RootResourceId'));
  const pathOf = (resourceId: unknown): string => {
    if (JSON.stringify(resourceId) === rootId) return '';
    const id = (resourceId as { Ref: string }).Ref;
    const resource = resources.get(id) as { ParentId: unknown; PathPart: string };
    return `${pathOf(resource.ParentId)}/${resource.PathPart}`;
  };
  return resourcesOfType(template, 'AWS::ApiGateway::Method').map(([, method]) => {
    const properties = MethodProperties.parse(method.Properties);
    return { path: pathOf(properties.ResourceId), properties };
  });
}

describe('OpsApi: the operations API', () => {
  it('serves exactly the routes of the contract (domain/ops/api.ts), each through the ops function', () => {
    const served = methods().map(({ path, properties }) => `${properties.HttpMethod} ${path}`);

    expect(served.sort()).toEqual(routes.map((route) => `${route.method} ${route.resource}`).sort());
    for (const { properties } of methods()) {
      expect(properties.Integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(properties.Integration.Uri)).toContain(
        logicalIdOf(stack, stack.orchestration.functions.opsApi),
      );
    }
  });

  it('requires IAM authorisation (SigV4) on every method: no method is open', () => {
    const all = methods();

    expect(all.length).toBe(routes.length);
    for (const { path, properties } of all) {
      expect(properties.AuthorizationType, `${properties.HttpMethod} ${path}`).toBe('AWS_IAM');
    }
  });

  it('validates every request body against a model generated from its zod schema, and the query parameters', () => {
    const validatorId = ref(ops.validator);
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });

    for (const { path, properties } of methods()) {
      const route = routes.find(
        (candidate) => candidate.resource === path && candidate.method === properties.HttpMethod,
      );
      expect(properties.RequestValidatorId, path).toEqual(validatorId);
      if (route?.body !== undefined) {
        expect(properties.RequestModels, path).toEqual({ 'application/json': `${route.body}Body` });
      }
      if (route?.query !== undefined) {
        expect(properties.RequestParameters, path).toEqual(
          Object.fromEntries(route.query.map((name) => [`method.request.querystring.${name}`, false])),
        );
      }
    }
    for (const name of Object.keys(REQUEST_BODIES) as RequestBodyName[]) {
      template.hasResourceProperties('AWS::ApiGateway::Model', {
        Name: `${name}Body`,
        ContentType: 'application/json',
        Schema: requestBodyJsonSchema(name),
      });
    }
  });

  it('generates draft-4 models that forbid unknown fields, as the Lambda does', () => {
    for (const name of Object.keys(REQUEST_BODIES) as RequestBodyName[]) {
      const schema = requestBodyJsonSchema(name);
      expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(schema.additionalProperties, name).toBe(false);
    }
  });

  it('answers gateway-level refusals (bad body, bad parameters, 4xx, 5xx) as JSON with the reason', () => {
    for (const type of ['BAD_REQUEST_BODY', 'BAD_REQUEST_PARAMETERS']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: '400',
        ResponseTemplates: {
          'application/json': '{"error":"InvalidRequest","message":"$context.error.validationErrorString"}',
        },
      });
    }
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('messageString') },
      });
    }
  });

  it('logs every request as JSON to an encrypted group, traces with X-Ray and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([ref(ops.accessLogs)])] }),
        Format: Match.stringLikeRegexp('"caller":"\\$context.identity.caller"'),
      },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
        }),
      ],
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      KmsKeyId: getAtt(stack.orchestration.logsKey),
      RetentionInDays: 90,
    });
  });

  it('lets API Gateway invoke the ops function only from this API', () => {
    const permissions = resourcesOfType(template, 'AWS::Lambda::Permission').filter(
      ([, permission]) =>
        JSON.stringify(permission.Properties?.FunctionName) ===
        JSON.stringify(getAtt(stack.orchestration.functions.opsApi)),
    );

    expect(permissions.length).toBe(routes.length);
    for (const [, permission] of permissions) {
      expect(permission.Properties?.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties?.SourceArn)).toContain(logicalIdOf(stack, ops.api));
    }
  });

  it('takes a backlog snapshot every minute through EventBridge Scheduler, dead-lettering what it cannot deliver', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: getAtt(stack.orchestration.functions.opsApi),
        Input: JSON.stringify(BACKLOG_SNAPSHOT_REQUEST),
        DeadLetterConfig: { Arn: getAtt(stack.orchestration.asyncFailureQueue) },
      },
    });
  });

  it('gives the schedule role exactly: invoke the ops function, send to its dead-letter queue (and use its key through SQS)', () => {
    const role = ops.node.findChild('SnapshotScheduleRole') as Role;
    const statements = statementsOfRole(template, logicalIdOf(stack, role));

    expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
    expect(statements.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'lambda:InvokeFunction',
      'sqs:SendMessage',
    ]);
    expect(
      statements.some((s) =>
        allows(s, 'lambda:InvokeFunction', getAtt(stack.orchestration.functions.opsApi)),
      ),
    ).toBe(true);
    expect(
      statements.some((s) => allows(s, 'sqs:SendMessage', getAtt(stack.orchestration.asyncFailureQueue))),
    ).toBe(true);
  });

  it("dead-letters the ops function's failed asynchronous (scheduled) invocations", () => {
    const [, fn] =
      resourcesOfType(template, 'AWS::Lambda::Function').find(
        ([id]) => id === logicalIdOf(stack, stack.orchestration.functions.opsApi),
      ) ?? [];

    expect(fn?.Properties?.DeadLetterConfig).toEqual({
      TargetArn: getAtt(stack.orchestration.asyncFailureQueue),
    });
  });

  it("grants an operators' role execute-api:Invoke on this API's stage only", () => {
    // Prepare
    const app = new App({ context: cdkJsonContext() });
    const other = new FlowtuneStack(app, 'Flowtune', { functionFactory: new TestFunctionFactory() });
    const operators = new Role(other, 'Operators', { assumedBy: new AccountRootPrincipal() });

    // Act
    other.opsApi.grantInvoke(operators);

    // Assess
    const statements = statementsOfRole(Template.fromStack(other), logicalIdOf(other, operators));
    expect(statements).toHaveLength(1);
    expect(statements[0]?.Action).toBe('execute-api:Invoke');
    expect(JSON.stringify(statements[0]?.Resource)).toContain(logicalIdOf(other, other.opsApi.api));
    expect(JSON.stringify(statements[0]?.Resource)).toContain('/v1/*/*');
  });

  it('publishes the API URL as a stack output the CLI reads', () => {
    template.hasOutput('OpsApiUrl', { Value: Match.anyValue() });
  });
});
