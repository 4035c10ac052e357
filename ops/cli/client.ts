import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type {
  ExperimentStartBody,
  OpsErrorBody,
  OverrideBody,
  PolicyProposalBody,
  ReasonBody,
} from '../../domain/ops/api';
import type { BottleneckView } from '../../domain/ops/bottleneck';
import type { PolicyProposal } from '../../domain/ops/policy-proposal';
import type { Policy } from '../../domain/policy';
import type { PolicyFieldChange } from '../../domain/policy/diff';
import type { PolicyVersionRecord } from '../../domain/tuning/versions';
import type {
  StaffingApprovalView,
  StaffingDecisionResult,
} from '../../lambdas/ops-api/allocation-approvals';
import type {
  ExperimentActionResult,
  ExperimentSummary,
  ExperimentView,
} from '../../lambdas/ops-api/experiments';
import type { ActionResult, HumanTask, ItemStatus } from '../../lambdas/ops-api/operations';
import type { TuningApprovalView, TuningDecisionResult } from '../../lambdas/ops-api/tuning-approvals';
import type { PolicyHistoryEntry } from '../../lambdas/shared/policy-store';
import { ACTOR_HEADER } from '../../local/ops-server';
import { type RequestSigner, regionOfEndpoint, sigV4Signer } from './signing';

/**
 * A client of the operations API: the same calls against the deployed stack (HTTPS, SigV4-signed
 * with the caller's AWS credentials) and against the local runtime's ops server (plain HTTP on
 * 127.0.0.1, the person named in a header).
 */

export interface PolicyHistoryView {
  readonly active: Policy;
  readonly history: readonly PolicyHistoryEntry[];
  readonly versions: readonly Omit<PolicyVersionRecord, 'policy'>[];
}

export interface PolicyDiffView {
  readonly from: string;
  readonly to: string;
  readonly changes: readonly PolicyFieldChange[];
}

export interface PolicyRollbackResult {
  readonly version: string;
  readonly previousVersion: string;
  readonly outcome: string;
  readonly changes: readonly string[];
  readonly actor: string;
}

export interface ExperimentList {
  readonly current?: ExperimentSummary;
  readonly experiments: readonly ExperimentSummary[];
}

/** The API answered with an error: its status, code and message (never a stack trace). */
export class OpsApiError extends Error {
  override readonly name = 'OpsApiError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface OpsTarget {
  /** Base URL of the API, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1/ or http://127.0.0.1:4010 */
  readonly endpoint: string;
  /** Signs each request; absent for the local server. */
  readonly signer?: RequestSigner;
  /** The person acting, sent to the local server only (the deployed API knows the signer). */
  readonly actor?: string;
}

/** Output key of the ops API URL in the stack outputs (`cdk deploy --outputs-file`). */
export const OPS_API_URL_OUTPUT = 'OpsApiUrl';

const StackOutputs = z.record(z.string(), z.record(z.string(), z.string()));

/**
 * Where to send requests: an explicit endpoint, or the OpsApiUrl of a stack outputs file. An
 * execute-api URL is signed (region from its host unless given); anything else is taken for a
 * local server unless `sign` says otherwise.
 */
export function resolveTarget(options: {
  readonly endpoint?: string;
  readonly outputsFile?: string;
  readonly stack?: string;
  readonly region?: string;
  readonly sign?: boolean;
  readonly actor?: string;
}): OpsTarget {
  const endpoint =
    options.endpoint ?? (options.outputsFile === undefined ? undefined : endpointFromOutputs(options));
  if (endpoint === undefined) {
    throw new OpsTargetError(
      'no ops API to talk to: pass --endpoint URL (or set FLOWTUNE_OPS_ENDPOINT), or --outputs FILE from `cdk deploy --outputs-file`; for the local runtime start one with `flowtune ops serve`',
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new OpsTargetError(`--endpoint must be a URL (got "${endpoint}")`);
  }
  const region = options.region ?? regionOfEndpoint(url);
  const sign = options.sign ?? regionOfEndpoint(url) !== undefined;
  if (sign && region === undefined) {
    throw new OpsTargetError(`cannot tell the region of ${url.host} to sign for: pass --region`);
  }
  return {
    endpoint: url.toString(),
    ...(sign && region !== undefined ? { signer: sigV4Signer({ region }) } : {}),
    ...(options.actor === undefined ? {} : { actor: options.actor }),
  };
}

export class OpsTargetError extends Error {
  override readonly name = 'OpsTargetError';
}

function endpointFromOutputs(options: { readonly outputsFile?: string; readonly stack?: string }): string {
  const file = options.outputsFile as string;
  let outputs: z.infer<typeof StackOutputs>;
  try {
    outputs = StackOutputs.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new OpsTargetError(`cannot read stack outputs from ${file}: ${(error as Error).message}`);
  }
  const stack = options.stack ?? 'Flowtune';
  const url = outputs[stack]?.[OPS_API_URL_OUTPUT];
  if (url === undefined) {
    throw new OpsTargetError(
      `${file} has no ${stack}.${OPS_API_URL_OUTPUT}; deploy the stack with --outputs-file, or pass --stack`,
    );
  }
  return url;
}

export class OpsClient {
  constructor(
    private readonly target: OpsTarget,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  itemStatus(itemId: string): Promise<ItemStatus> {
    return this.call('GET', `items/${encodeURIComponent(itemId)}`);
  }

  bottlenecks(): Promise<BottleneckView> {
    return this.call('GET', 'bottlenecks');
  }

  tasks(limit?: number): Promise<{ tasks: HumanTask[]; more: boolean }> {
    return this.call('GET', limit === undefined ? 'tasks' : `tasks?limit=${limit}`);
  }

  approve(itemId: string, body: ReasonBody): Promise<ActionResult> {
    return this.call('POST', `items/${encodeURIComponent(itemId)}/approve`, body);
  }

  reject(itemId: string, body: ReasonBody): Promise<ActionResult> {
    return this.call('POST', `items/${encodeURIComponent(itemId)}/reject`, body);
  }

  override(itemId: string, body: OverrideBody): Promise<ActionResult> {
    return this.call('POST', `items/${encodeURIComponent(itemId)}/override`, body);
  }

  appeal(itemId: string, body: ReasonBody): Promise<ActionResult> {
    return this.call('POST', `items/${encodeURIComponent(itemId)}/appeal`, body);
  }

  policyProposals(): Promise<{ active: Policy; proposals: PolicyProposal[] }> {
    return this.call('GET', 'policies/proposals');
  }

  proposePolicy(body: PolicyProposalBody): Promise<PolicyProposal> {
    return this.call('POST', 'policies/proposals', body);
  }

  approvePolicy(version: string, body: ReasonBody): Promise<{ version: string; status: string }> {
    return this.call('POST', `policies/proposals/${encodeURIComponent(version)}/approve`, body);
  }

  policyHistory(): Promise<PolicyHistoryView> {
    return this.call('GET', 'policies/history');
  }

  policyDiff(from: string, to: string): Promise<PolicyDiffView> {
    return this.call('GET', `policies/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  }

  rollbackPolicy(version: string, body: ReasonBody): Promise<PolicyRollbackResult> {
    return this.call('POST', `policies/versions/${encodeURIComponent(version)}/rollback`, body);
  }

  tuningApprovals(): Promise<{ approvals: TuningApprovalView[] }> {
    return this.call('GET', 'tuning/approvals');
  }

  decideTuningChange(
    approvalId: string,
    decision: 'approve' | 'reject',
    body: ReasonBody,
  ): Promise<TuningDecisionResult> {
    return this.call('POST', `tuning/approvals/${encodeURIComponent(approvalId)}/${decision}`, body);
  }

  staffingApprovals(): Promise<{ approvals: StaffingApprovalView[] }> {
    return this.call('GET', 'allocation/approvals');
  }

  decideStaffingMove(
    approvalId: string,
    decision: 'approve' | 'reject',
    body: ReasonBody,
  ): Promise<StaffingDecisionResult> {
    return this.call('POST', `allocation/approvals/${encodeURIComponent(approvalId)}/${decision}`, body);
  }

  experiments(): Promise<ExperimentList> {
    return this.call('GET', 'experiments');
  }

  startExperiment(body: ExperimentStartBody): Promise<ExperimentActionResult> {
    return this.call('POST', 'experiments', body);
  }

  experimentStatus(experimentId: string): Promise<ExperimentView> {
    return this.call('GET', `experiments/${encodeURIComponent(experimentId)}`);
  }

  stopExperiment(experimentId: string, body: ReasonBody): Promise<ExperimentActionResult> {
    return this.call('POST', `experiments/${encodeURIComponent(experimentId)}/stop`, body);
  }

  private async call<T>(method: 'GET' | 'POST', relative: string, body?: unknown): Promise<T> {
    const base = this.target.endpoint.endsWith('/') ? this.target.endpoint : `${this.target.endpoint}/`;
    const url = new URL(relative, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let headers: Record<string, string> = {
      accept: 'application/json',
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...(this.target.actor === undefined || this.target.signer !== undefined
        ? {}
        : { [ACTOR_HEADER]: this.target.actor }),
    };
    if (this.target.signer !== undefined) {
      headers = (
        await this.target.signer({
          method,
          url,
          headers,
          ...(payload === undefined ? {} : { body: payload }),
        })
      ).headers;
    }
    const response = await this.fetchImpl(url, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json ?? {}) as Partial<OpsErrorBody> & { message?: string; Message?: string };
      throw new OpsApiError(
        response.status,
        error.error ?? `Http${response.status}`,
        error.message ?? error.Message ?? (text.slice(0, 300) || response.statusText),
        error.field,
      );
    }
    return json as T;
  }
}
