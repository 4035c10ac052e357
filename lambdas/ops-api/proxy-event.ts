import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { matchRoute } from '../../domain/ops/api';

/**
 * An API Gateway (REST, Lambda proxy) event as the deployed API would deliver it to the ops
 * function, with `actor` as the signed caller's IAM ARN. The local ops server builds its events
 * with it, so the handler runs locally exactly as behind API Gateway.
 *
 * @example
 * apiGatewayEvent({ method: 'POST', path: '/items/HD-1/approve', body: { reason: 'ok' }, actor: 'local:ana' });
 */
export function apiGatewayEvent(request: {
  readonly method: string;
  readonly path: string;
  readonly actor?: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
}): APIGatewayProxyEvent {
  const matched = matchRoute(request.method, request.path);
  const resource = matched?.route.resource ?? request.path;
  const body = request.rawBody ?? (request.body === undefined ? null : JSON.stringify(request.body));
  const query =
    request.query === undefined || Object.keys(request.query).length === 0 ? null : { ...request.query };
  const now = Date.now();
  return {
    resource,
    path: request.path,
    httpMethod: request.method,
    headers: { ...(request.headers ?? {}) },
    multiValueHeaders: {},
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    pathParameters: matched === undefined ? null : { ...matched.pathParameters },
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '127.0.0.1',
        user: null,
        userAgent: request.headers?.['user-agent'] ?? null,
        userArn: request.actor ?? null,
      },
      path: request.path,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: resource,
    },
  };
}
