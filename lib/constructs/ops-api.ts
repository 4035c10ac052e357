import { Duration, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  CfnModel,
  EndpointType,
  type IModel,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Model,
  type RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BACKLOG_SNAPSHOT_REQUEST,
  OPS_ROUTES,
  type OpsRoute,
  REQUEST_BODIES,
  type RequestBodyName,
  requestBodyJsonSchema,
} from '../../domain/ops/api';
import { skipCheck } from '../checkov';
import { acknowledgeFinding } from '../nag';

export interface OpsApiProps {
  /** The ops function (FUNCTIONS.opsApi): serves every route and takes the backlog snapshot. */
  readonly handler: IFunction;
  /** Encrypts the access-log group (the process log key). */
  readonly logsKey: IKey;
  /** Where the schedule puts snapshot invocations it could not deliver. */
  readonly scheduleDeadLetterQueue: IQueue;
  /**
   * How often the backlog snapshot (BacklogItems, BacklogOldestAge per stage) is taken.
   *
   * @default Duration.minutes(1)
   */
  readonly snapshotEvery?: Duration;
  /**
   * Steady-state requests per second the stage accepts (and twice that as a burst).
   *
   * @default 20
   */
  readonly requestsPerSecond?: number;
  /**
   * Retention of the access logs.
   *
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * Stage name, the first path segment after the host.
   *
   * @default 'v1'
   */
  readonly stageName?: string;
}

/**
 * The operations API: API Gateway REST with IAM authorisation (SigV4) on every method, request
 * validation with a model per body (JSON Schema generated from the contract's zod schemas), JSON
 * errors that say what was wrong, access logs, X-Ray and throttling, and the Lambda proxy
 * integration to the ops function. Routes come from OPS_ROUTES (domain/ops/api.ts), the same table
 * the Lambda routes with. Also schedules the per-minute backlog snapshot behind the dashboard's
 * backlog-by-stage widgets.
 */
export class OpsApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  readonly validator: RequestValidator;
  readonly snapshotSchedule: CfnSchedule;
  /** What the snapshot schedule invokes the ops function and dead-letters a failed invocation as. */
  readonly snapshotScheduleRole: Role;
  /** The API's base URL (stage included), as the CLI wants it. */
  readonly url: string;
  readonly stageName: string;

  constructor(scope: Construct, id: string, props: OpsApiProps) {
    super(scope, id);
    const rate = props.requestsPerSecond ?? 20;
    this.stageName = props.stageName ?? 'v1';

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      encryptionKey: props.logsKey,
    });
    this.api = new RestApi(this, 'Api', {
      restApiName: `${Stack.of(this).stackName}-ops`,
      description:
        'Flowtune operations: item status and audit trail, bottlenecks, human tasks, policy proposals, tuning and staffing approvals',
      endpointTypes: [EndpointType.REGIONAL],
      // The account-wide API Gateway logging role is the account owner's to set, not this stack's.
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      deployOptions: {
        stageName: this.stageName,
        tracingEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        loggingLevel: MethodLoggingLevel.OFF,
        throttlingRateLimit: rate,
        throttlingBurstLimit: rate * 2,
      },
    });
    this.url = this.api.url;
    this.validator = this.api.addRequestValidator('BodyAndParameters', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.addErrorResponses();

    const models = this.addModels();
    const integration = new LambdaIntegration(props.handler, { proxy: true, allowTestInvoke: false });
    for (const route of OPS_ROUTES as readonly OpsRoute[]) {
      const method = this.api.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        authorizationType: AuthorizationType.IAM,
        requestValidator: this.validator,
        ...(route.body === undefined
          ? {}
          : { requestModels: { 'application/json': models[route.body].model } }),
        ...(route.query === undefined
          ? {}
          : {
              requestParameters: Object.fromEntries(
                route.query.map((name) => [`method.request.querystring.${name}`, false]),
              ),
            }),
      });
      if (route.body !== undefined) method.node.addDependency(models[route.body].resource);
    }

    this.snapshotScheduleRole = new Role(this, 'SnapshotScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'Flowtune: lets the backlog snapshot schedule invoke the ops function',
    });
    this.snapshotSchedule = this.scheduleSnapshots(props, this.snapshotScheduleRole);
    this.acknowledgeFindings();
  }

  /**
   * Lets `grantee` call every operation (execute-api:Invoke on this API's stage): give it to the
   * operators' role.
   */
  grantInvoke(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['execute-api:Invoke'],
        resources: [this.api.arnForExecuteApi('*', '/*', this.stageName)],
      }),
    );
  }

  /** One model per request body, its JSON Schema generated from the zod schema. */
  private addModels(): Record<RequestBodyName, { model: IModel; resource: CfnModel }> {
    const models = {} as Record<RequestBodyName, { model: IModel; resource: CfnModel }>;
    for (const name of Object.keys(REQUEST_BODIES) as RequestBodyName[]) {
      const modelName = `${name}Body`;
      const resource = new CfnModel(this, `${modelName}Model`, {
        restApiId: this.api.restApiId,
        name: modelName,
        contentType: 'application/json',
        description: `Body of the ${name} requests (domain/ops/api.ts)`,
        schema: requestBodyJsonSchema(name),
      });
      models[name] = { model: Model.fromModelName(this, `${modelName}Ref`, modelName), resource };
    }
    return models;
  }

  /** JSON errors from the gateway itself, with the validation message, never HTML or internals. */
  private addErrorResponses(): void {
    const json = (code: string, message: string) => ({
      'application/json': `{"error":"${code}","message":${message}}`,
    });
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: json('InvalidRequest', '"$context.error.validationErrorString"'),
    });
    this.api.addGatewayResponse('BadRequestParameters', {
      type: ResponseType.BAD_REQUEST_PARAMETERS,
      statusCode: '400',
      templates: json('InvalidRequest', '"$context.error.validationErrorString"'),
    });
    this.api.addGatewayResponse('Default4xx', {
      type: ResponseType.DEFAULT_4XX,
      templates: json('$context.error.responseType', '$context.error.messageString'),
    });
    this.api.addGatewayResponse('Default5xx', {
      type: ResponseType.DEFAULT_5XX,
      templates: json('$context.error.responseType', '$context.error.messageString'),
    });
  }

  /** EventBridge Scheduler invokes the ops function with the snapshot request every period. */
  private scheduleSnapshots(props: OpsApiProps, role: Role): CfnSchedule {
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.handler.functionArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [props.scheduleDeadLetterQueue.queueArn],
      }),
    );
    const minutes = (props.snapshotEvery ?? Duration.minutes(1)).toMinutes();
    return new CfnSchedule(this, 'SnapshotSchedule', {
      description: 'Flowtune: backlog snapshot (items and oldest age per stage) for the dashboard',
      scheduleExpression: `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: props.handler.functionArn,
        roleArn: role.roleArn,
        input: JSON.stringify(BACKLOG_SNAPSHOT_REQUEST),
        // A snapshot is worth nothing a minute later: no long retries, the next one is coming.
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 60 },
        deadLetterConfig: { arn: props.scheduleDeadLetterQueue.queueArn },
      },
    });
  }

  private acknowledgeFindings(): void {
    skipCheck(
      this.api.deploymentStage,
      'CKV_AWS_120',
      'The operations API answers with live item state, audit trails and pending approvals, and takes decisions: a cached answer would show a person a stale state to decide on, and responses are per IAM caller.',
    );
    acknowledgeFinding(
      this.api,
      'AwsSolutions-APIG3',
      'Every method requires SigV4 (IAM authorisation) and the stage is throttled: unsigned traffic is refused by API Gateway before any integration runs, so a WAF web ACL would add cost without a threat it stops.',
    );
    acknowledgeFinding(
      this.api,
      'AwsSolutions-APIG6',
      'Execution logging needs the account-wide API Gateway CloudWatch role, which a stack deployed into a customer account must not take over; access logs (JSON, every request, caller included), X-Ray and the function logs cover each request.',
    );
    acknowledgeFinding(
      this.api,
      'AwsSolutions-COG4',
      'The operations API authorises with IAM (SigV4): operators use their AWS identities and the audit trail records the IAM principal, so no Cognito user pool is involved.',
    );
  }
}
