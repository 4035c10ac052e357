import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { z } from 'zod';
import {
  ExperimentStartBody,
  matchRoute,
  OPS_ROUTES,
  type OpsErrorBody,
  type OpsRoute,
  OverrideBody,
  PATH_PARAMETERS,
  type PathParameterName,
  PolicyDiffQuery,
  PolicyProposalBody,
  REQUEST_BODIES,
  ReasonBody,
  resourceExists,
  StaffingApprovalId,
  TasksQuery,
} from '../../domain/ops/api';
import type { Telemetry } from '../shared/observability';
import { OpsRequestError } from './errors';
import type { OpsOperations } from './operations';

/** Lambda proxy answer headers: JSON, never cached (the state changes under it). */
const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

export type OpsHttpHandler = (
  event: APIGatewayProxyEvent,
  requestId: string | undefined,
) => Promise<APIGatewayProxyResult>;

/**
 * The HTTP face of the operations: finds the route (by API Gateway's resource, or by matching the
 * path when a local server calls), takes the actor from the caller's signed identity, validates
 * path, query and body with the contract's zod schemas, and answers JSON. A problem the caller can
 * fix is a 4xx naming it; anything else is a 500 with the request id and no internals.
 */
export function createOpsHttpHandler(operations: OpsOperations, telemetry: Telemetry): OpsHttpHandler {
  return async (event, requestId) => {
    try {
      const { route, pathParameters } = findRoute(event);
      const actor = actorOf(event);
      const body = route.body === undefined ? undefined : parseBody(event.body, REQUEST_BODIES[route.body]);
      const param = (name: PathParameterName, schema: z.ZodType<string> = PATH_PARAMETERS[name]): string => {
        const parsed = schema.safeParse(pathParameters[name]);
        if (!parsed.success) throw OpsRequestError.invalid(name, parsed.error);
        return parsed.data;
      };
      const reason = () => ReasonBody.parse(body);
      switch (route.operation) {
        case 'itemStatus':
          return ok(200, await operations.itemStatus(param('itemId')));
        case 'bottlenecks':
          return ok(200, await operations.bottlenecks());
        case 'tasks': {
          const query = TasksQuery.safeParse(event.queryStringParameters ?? {});
          if (!query.success) throw OpsRequestError.invalid('limit', query.error);
          return ok(200, await operations.tasks(query.data.limit));
        }
        case 'approve':
          return ok(200, await operations.approve(param('itemId'), reason(), actor));
        case 'reject':
          return ok(200, await operations.reject(param('itemId'), reason(), actor));
        case 'override':
          return ok(200, await operations.override(param('itemId'), OverrideBody.parse(body), actor));
        case 'appeal':
          return ok(200, await operations.appeal(param('itemId'), reason(), actor));
        case 'listPolicyProposals':
          return ok(200, await operations.listPolicyProposals());
        case 'proposePolicy':
          return ok(201, await operations.proposePolicy(PolicyProposalBody.parse(body), actor));
        case 'approvePolicy':
          return ok(200, await operations.approvePolicy(param('version'), reason(), actor));
        case 'policyHistory':
          return ok(200, await operations.policyHistory());
        case 'policyVersion':
          return ok(200, await operations.policyVersion(param('policyVersion')));
        case 'policyDiff': {
          const query = PolicyDiffQuery.safeParse(event.queryStringParameters ?? {});
          if (!query.success) throw OpsRequestError.invalid('query', query.error);
          return ok(200, await operations.policyDiff(query.data.from, query.data.to));
        }
        case 'rollbackPolicy':
          return ok(200, await operations.rollbackPolicy(param('policyVersion'), reason(), actor));
        case 'listTuningApprovals':
          return ok(200, await operations.listTuningApprovals());
        case 'approveTuningChange':
          return ok(200, await operations.approveTuningChange(param('approvalId'), reason(), actor));
        case 'rejectTuningChange':
          return ok(200, await operations.rejectTuningChange(param('approvalId'), reason(), actor));
        case 'listStaffingApprovals':
          return ok(200, await operations.listStaffingApprovals());
        case 'approveStaffingMove':
          return ok(
            200,
            await operations.approveStaffingMove(param('approvalId', StaffingApprovalId), reason(), actor),
          );
        case 'rejectStaffingMove':
          return ok(
            200,
            await operations.rejectStaffingMove(param('approvalId', StaffingApprovalId), reason(), actor),
          );
        case 'listExperiments':
          return ok(200, await operations.listExperiments());
        case 'startExperiment':
          return ok(201, await operations.startExperiment(ExperimentStartBody.parse(body), actor));
        case 'experimentStatus':
          return ok(200, await operations.experimentStatus(param('experimentId')));
        case 'stopExperiment':
          return ok(200, await operations.stopExperiment(param('experimentId'), reason(), actor));
      }
    } catch (error) {
      if (error instanceof OpsRequestError) {
        telemetry.logger.info('request refused', {
          status: error.status,
          code: error.code,
          message: error.message,
        });
        return fail(error.status, {
          error: error.code,
          message: error.message,
          ...(error.field === undefined ? {} : { field: error.field }),
        });
      }
      telemetry.logger.error('operation failed', { error });
      return fail(500, {
        error: 'InternalError',
        message: 'The operation failed on the server; the request id identifies it in the logs.',
        ...(requestId === undefined ? {} : { requestId }),
      });
    }
  };
}

function findRoute(event: APIGatewayProxyEvent): { route: OpsRoute; pathParameters: Record<string, string> } {
  const byResource = (OPS_ROUTES as readonly OpsRoute[]).find(
    (route) => route.resource === event.resource && route.method === event.httpMethod,
  );
  if (byResource !== undefined) {
    const parameters: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
      if (value !== undefined) parameters[name] = value;
    }
    return { route: byResource, pathParameters: parameters };
  }
  const matched = matchRoute(event.httpMethod, event.path);
  if (matched !== undefined) return matched;
  if (resourceExists(event.path)) {
    throw new OpsRequestError(405, 'MethodNotAllowed', `${event.httpMethod} is not allowed on ${event.path}`);
  }
  throw OpsRequestError.notFound(
    `no operation at ${event.httpMethod} ${event.path}; see docs/operations.md for the routes`,
  );
}

/**
 * Who acts: the IAM principal that signed the request (API Gateway puts it in the request
 * context). Never taken from the body, so the audit trail names the authenticated caller.
 */
function actorOf(event: APIGatewayProxyEvent): string {
  const identity = event.requestContext?.identity;
  const actor = identity?.userArn ?? identity?.caller ?? undefined;
  if (actor === undefined || actor === null || actor === '') {
    throw new OpsRequestError(403, 'Unsigned', 'the request carries no caller identity; sign it with SigV4');
  }
  return actor;
}

function parseBody<T extends z.ZodType>(raw: string | null, schema: T): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? '');
  } catch {
    throw new OpsRequestError(400, 'InvalidRequest', 'the body must be a JSON object', 'body');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw OpsRequestError.invalid('body', parsed.error);
  return parsed.data;
}

function ok(statusCode: number, body: unknown): APIGatewayProxyResult {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(body) };
}

function fail(statusCode: number, body: OpsErrorBody): APIGatewayProxyResult {
  return { statusCode, headers: { ...HEADERS }, body: JSON.stringify(body) };
}
