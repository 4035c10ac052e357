import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AgentId, ItemId } from '../../domain/events';
import {
  ExperimentId,
  ExperimentStartBody,
  PolicyProposalBody,
  PolicyVersion,
  Reason,
  StaffingApprovalId,
  StoredPolicyVersion,
  TuningApprovalId,
} from '../../domain/ops/api';
import { type Command, UsageError } from '../../simulator/cli/command';
import { OpsApiError, OpsClient, type OpsTarget, OpsTargetError, resolveTarget } from './client';
import {
  formatAction,
  formatBottlenecks,
  formatExperiment,
  formatExperimentAction,
  formatExperiments,
  formatPolicyDiff,
  formatPolicyHistory,
  formatStaffingApprovals,
  formatStatus,
  formatTasks,
  formatTuningApprovals,
} from './format';

/**
 * `flowtune ops <subcommand>`: the operations API from the terminal, against the deployed stack
 * (SigV4-signed with your AWS credentials) or the local runtime (`flowtune ops serve`).
 */

const TARGET_OPTIONS = {
  endpoint: { type: 'string' },
  outputs: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  sign: { type: 'boolean' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

const TARGET_HELP = `
Target (one of):
  --endpoint URL      the ops API: the stack's OpsApiUrl output, or a local server's URL
                      (default: $FLOWTUNE_OPS_ENDPOINT)
  --outputs FILE      read OpsApiUrl from \`cdk deploy --outputs-file FILE\` (with --stack NAME,
                      default Flowtune)
  --region R          region to sign for (default: from the execute-api host name)
  --sign              sign with SigV4 even if the host is not execute-api (custom domains)
  --actor NAME        who you are, for a local server (the deployed API records your IAM principal)
  --json              print the API's JSON answer
  -h, --help          this help`;

interface Subcommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly options?: NonNullable<ParseArgsConfig['options']>;
  /** Positional arguments, by name. */
  readonly positionals: readonly string[];
  /** How many positionals it accepts, when that varies. @default exactly `positionals.length` */
  readonly arity?: readonly number[];
  /** More help than the summary (actions, examples). */
  readonly details?: string;
  run(client: OpsClient, input: SubcommandInput): Promise<string>;
}

interface SubcommandInput {
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly json: boolean;
}

const show = (json: boolean, value: unknown, text: () => string): string =>
  json ? JSON.stringify(value, null, 2) : text();

function requireString(values: SubcommandInput['values'], name: string, sub: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') {
    throw new UsageError(`--${name} is required\nRun "flowtune ops ${sub} --help" for the options.`);
  }
  return value;
}

function checked<T>(
  schema: {
    safeParse(
      value: unknown,
    ): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } };
  },
  value: unknown,
  what: string,
): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${what} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return parsed.data;
}

const itemIdOf = (input: SubcommandInput) => checked(ItemId, input.positionals[0], 'ITEM_ID');
const reasonOf = (input: SubcommandInput, sub: string) =>
  checked(Reason, requireString(input.values, 'reason', sub), '--reason');

/** A result and how to print it as text (shown as JSON with --json). */
type Shown = readonly [result: unknown, asText: () => string];

const decided = (decision: 'approve' | 'reject') => (decision === 'approve' ? 'approved' : 'rejected');

/**
 * The run of a command over things held for a person: `list` (the default) shows them,
 * `approve|reject ID --reason TEXT` decides one.
 */
function listOrDecide<Id>(spec: {
  readonly command: string;
  readonly id: Parameters<typeof checked<Id>>[0];
  readonly list: (client: OpsClient) => Promise<Shown>;
  readonly decide: (
    client: OpsClient,
    id: Id,
    decision: 'approve' | 'reject',
    body: { readonly reason: string },
  ) => Promise<Shown>;
}): Subcommand['run'] {
  return async (client, input) => {
    const [action = 'list', id] = input.positionals;
    if (action === 'list') {
      if (id !== undefined) throw new UsageError(`"${spec.command} list" takes no APPROVAL_ID`);
      const [result, asText] = await spec.list(client);
      return show(input.json, result, asText);
    }
    if (action !== 'approve' && action !== 'reject') {
      throw new UsageError(`unknown action "${action}"; one of: list, approve, reject`);
    }
    if (id === undefined) {
      throw new UsageError(`"${spec.command} ${action}" needs the APPROVAL_ID (see "${spec.command} list")`);
    }
    const approvalId = checked(spec.id, id, 'APPROVAL_ID');
    const [result, asText] = await spec.decide(client, approvalId, action, {
      reason: reasonOf(input, spec.command),
    });
    return show(input.json, result, asText);
  };
}

const CORE_SUBCOMMANDS: readonly Subcommand[] = [
  {
    name: 'status',
    usage: 'flowtune ops status ITEM_ID',
    summary: "an item's stage, wait, assignee, the actions open now, and its audit trail",
    positionals: ['ITEM_ID'],
    run: async (client, input) => {
      const status = await client.itemStatus(itemIdOf(input));
      return show(input.json, status, () => formatStatus(status));
    },
  },
  {
    name: 'bottlenecks',
    usage: 'flowtune ops bottlenecks',
    summary: 'items and oldest age per stage and per queue, with headlines',
    positionals: [],
    run: async (client, input) => {
      const view = await client.bottlenecks();
      return show(input.json, view, () => formatBottlenecks(view));
    },
  },
  {
    name: 'tasks',
    usage: 'flowtune ops tasks [--limit N]',
    summary: 'pending human tasks (review, exceptions) with context and alternatives',
    options: { limit: { type: 'string' } },
    positionals: [],
    run: async (client, input) => {
      const raw = input.values.limit;
      const limit = raw === undefined ? undefined : Number(raw);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 200)) {
        throw new UsageError('--limit must be a whole number from 1 to 200');
      }
      const result = await client.tasks(limit);
      return show(input.json, result, () => formatTasks(result));
    },
  },
  {
    name: 'approve',
    usage: 'flowtune ops approve ITEM_ID --reason TEXT',
    summary: 'approve the decision in review (requeue an exception)',
    options: { reason: { type: 'string' } },
    positionals: ['ITEM_ID'],
    run: async (client, input) => {
      const result = await client.approve(itemIdOf(input), { reason: reasonOf(input, 'approve') });
      return show(input.json, result, () => formatAction(result));
    },
  },
  {
    name: 'reject',
    usage: 'flowtune ops reject ITEM_ID --reason TEXT',
    summary: 'reject the item in review (close an exception)',
    options: { reason: { type: 'string' } },
    positionals: ['ITEM_ID'],
    run: async (client, input) => {
      const result = await client.reject(itemIdOf(input), { reason: reasonOf(input, 'reject') });
      return show(input.json, result, () => formatAction(result));
    },
  },
  {
    name: 'override',
    usage: 'flowtune ops override ITEM_ID --agent AGENT_ID --reason TEXT',
    summary: 'assign the item to a named agent (capacity is claimed like any assignment)',
    options: { agent: { type: 'string' }, reason: { type: 'string' } },
    positionals: ['ITEM_ID'],
    run: async (client, input) => {
      const agentId = checked(AgentId, requireString(input.values, 'agent', 'override'), '--agent');
      const result = await client.override(itemIdOf(input), { agentId, reason: reasonOf(input, 'override') });
      return show(input.json, result, () => formatAction(result));
    },
  },
  {
    name: 'appeal',
    usage: 'flowtune ops appeal ITEM_ID --reason TEXT',
    summary: 're-open the decision on a routed item: back to human review',
    options: { reason: { type: 'string' } },
    positionals: ['ITEM_ID'],
    run: async (client, input) => {
      const result = await client.appeal(itemIdOf(input), { reason: reasonOf(input, 'appeal') });
      return show(input.json, result, () => formatAction(result));
    },
  },
  {
    name: 'propose-policy',
    usage: 'flowtune ops propose-policy --file POLICY.json --rationale TEXT',
    summary: 'propose a policy version (checked against the Policy schema); another person approves it',
    options: { file: { type: 'string' }, rationale: { type: 'string' } },
    positionals: [],
    run: async (client, input) => {
      const file = requireString(input.values, 'file', 'propose-policy');
      let policy: unknown;
      try {
        policy = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new UsageError(`--file ${file}: ${(error as Error).message}`);
      }
      const body = PolicyProposalBody.safeParse({
        policy,
        rationale: requireString(input.values, 'rationale', 'propose-policy'),
      });
      if (!body.success) {
        const issue = body.error.issues[0];
        throw new UsageError(
          `${file} is not a valid policy: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
        );
      }
      const proposal = await client.proposePolicy(body.data);
      return show(
        input.json,
        proposal,
        () =>
          `proposed policy ${proposal.version} (changes: ${proposal.changes.join(', ')}); another person approves it with: flowtune ops approve-policy ${proposal.version} --reason TEXT`,
      );
    },
  },
  {
    name: 'proposals',
    usage: 'flowtune ops proposals',
    summary: 'the active policy and the proposed versions',
    positionals: [],
    run: async (client, input) => {
      const result = await client.policyProposals();
      return show(input.json, result, () =>
        [
          `active: ${result.active.version}`,
          ...result.proposals.map(
            (p) =>
              `${p.version}  ${p.status}  by ${p.proposedBy} at ${p.proposedAt}${p.approvedBy === undefined ? '' : `, approved by ${p.approvedBy}`}  changes: ${p.changes.join(', ')}`,
          ),
        ].join('\n'),
      );
    },
  },
  {
    name: 'approve-policy',
    usage: 'flowtune ops approve-policy VERSION --reason TEXT',
    summary: "approve someone else's proposal: it becomes the active policy",
    options: { reason: { type: 'string' } },
    positionals: ['VERSION'],
    run: async (client, input) => {
      const version = checked(PolicyVersion, input.positionals[0], 'VERSION');
      const result = await client.approvePolicy(version, { reason: reasonOf(input, 'approve-policy') });
      return show(input.json, result, () => `policy ${result.version} is ${result.status} and active`);
    },
  },
  {
    name: 'policies',
    usage: 'flowtune ops policies [history | diff A B | rollback VERSION --reason TEXT]',
    summary: 'the policy history (who changed what, and why), a diff of two versions, a rollback',
    details: `Actions:
  history (default)                       the active policy, then every change oldest first: when,
                                          the version, from which version, what kind (approved,
                                          threshold-adapted, promoted, rolled-back, offload-...),
                                          who and why, and the fields that changed
  diff A B                                field-by-field difference from version A to version B
  rollback VERSION --reason TEXT          make a stored version active again, only if the active one
                                          is still the one you saw (else 409 PolicyConflict: look
                                          again); audited under your name and announced (PolicyChanged)`,
    options: { reason: { type: 'string' } },
    positionals: ['ACTION', 'A', 'B'],
    arity: [0, 1, 2, 3],
    run: async (client, input) => {
      const [action = 'history', first, second] = input.positionals;
      if (action === 'history') {
        if (first !== undefined) throw new UsageError('"policies history" takes no arguments');
        const view = await client.policyHistory();
        return show(input.json, view, () => formatPolicyHistory(view));
      }
      if (action === 'diff') {
        if (first === undefined || second === undefined) {
          throw new UsageError('"policies diff" needs two versions: flowtune ops policies diff A B');
        }
        const view = await client.policyDiff(
          checked(StoredPolicyVersion, first, 'A'),
          checked(StoredPolicyVersion, second, 'B'),
        );
        return show(input.json, view, () => formatPolicyDiff(view));
      }
      if (action === 'rollback') {
        if (first === undefined || second !== undefined) {
          throw new UsageError(
            '"policies rollback" needs one VERSION: flowtune ops policies rollback V --reason TEXT',
          );
        }
        const version = checked(StoredPolicyVersion, first, 'VERSION');
        const result = await client.rollbackPolicy(version, { reason: reasonOf(input, 'policies') });
        return show(
          input.json,
          result,
          () =>
            `policy ${result.version} is active again (was ${result.previousVersion}); changed: ${result.changes.join(', ') || 'nothing but the version'}`,
        );
      }
      throw new UsageError(`unknown action "${action}"; one of: history, diff, rollback`);
    },
  },
  {
    name: 'approvals',
    usage: 'flowtune ops approvals [list | approve|reject ID --reason TEXT]',
    summary: 'tuning changes held for a person: list them, approve or reject one',
    details: `Actions:
  list (default)                          the high-impact policy changes the tuning loop holds, oldest
                                          first, with why each needs a person and its evidence
  approve APPROVAL_ID --reason TEXT       the tuning workflow activates the change as a new version
  reject APPROVAL_ID --reason TEXT        nothing changes; the experiment behind it ends rejected
An approval expires after 24 hours (the change is then dropped, rejected).`,
    options: { reason: { type: 'string' } },
    positionals: ['ACTION', 'APPROVAL_ID'],
    arity: [0, 1, 2],
    run: listOrDecide({
      command: 'approvals',
      id: TuningApprovalId,
      list: async (client) => {
        const result = await client.tuningApprovals();
        return [result, () => formatTuningApprovals(result)];
      },
      decide: async (client, approvalId, decision, body) => {
        const result = await client.decideTuningChange(approvalId, decision, body);
        return [
          result,
          () => `${decided(result.decision)} ${result.version} (${approvalId}): ${result.outcome}`,
        ];
      },
    }),
  },
  {
    name: 'staffing',
    usage: 'flowtune ops staffing [list | approve|reject ID --reason TEXT]',
    summary: 'staffing moves and offloads held for a person: list them, approve or reject one',
    details: `Actions:
  list (default)                          the moves of agents between queues and the offloads to
                                          automation the allocation job left for a person, oldest
                                          first: the guardrail that held each, the forecast and the
                                          staffing need per queue, when it expires
  approve APPROVAL_ID --reason TEXT       the next allocation run applies it under your name (a move
                                          only if the agent is still in the queue it was planned from)
  reject APPROVAL_ID --reason TEXT        nothing changes
An approval expires with its recommendation's horizon (validUntil); the job then plans afresh.`,
    options: { reason: { type: 'string' } },
    positionals: ['ACTION', 'APPROVAL_ID'],
    arity: [0, 1, 2],
    run: listOrDecide({
      command: 'staffing',
      id: StaffingApprovalId,
      list: async (client) => {
        const result = await client.staffingApprovals();
        return [result, () => formatStaffingApprovals(result)];
      },
      decide: async (client, approvalId, decision, body) => {
        const result = await client.decideStaffingMove(approvalId, decision, body);
        return [
          result,
          () => `${decided(result.decision)} ${result.summary} (${approvalId}): ${result.outcome}`,
        ];
      },
    }),
  },
];

/** The numeric options of `experiments start`, each to its place in the body. */
const EXPERIMENT_NUMBERS = [
  ['split', ['split']],
  ['min-per-arm', ['stopping', 'minDecidedPerArm']],
  ['max-per-arm', ['stopping', 'maxDecidedPerArm']],
  ['max-minutes', ['stopping', 'maxDurationMinutes']],
  ['promotion-alpha', ['stopping', 'promotionAlpha']],
  ['harm-alpha', ['guardrails', 'harmAlpha']],
  ['max-sla-drop', ['guardrails', 'maxAttainmentDrop']],
] as const;

/** Option names by body path, so a refusal names the option the person typed. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = {
  candidate: '--policy-file',
  kind: '--kind',
  reason: '--reason',
  experimentId: '--id',
  ...Object.fromEntries(EXPERIMENT_NUMBERS.map(([option, path]) => [path.join('.'), `--${option}`])),
};

function experimentStartBody(input: SubcommandInput): ExperimentStartBody {
  const file = requireString(input.values, 'policy-file', 'experiments');
  let candidate: unknown;
  try {
    candidate = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--policy-file ${file}: ${(error as Error).message}`);
  }
  const body: Record<string, unknown> = {
    candidate,
    kind: requireString(input.values, 'kind', 'experiments'),
    reason: requireString(input.values, 'reason', 'experiments'),
    ...(typeof input.values.id === 'string' ? { experimentId: input.values.id } : {}),
  };
  for (const [option, path] of EXPERIMENT_NUMBERS) {
    const raw = input.values[option];
    if (typeof raw !== 'string') continue;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value))
      throw new UsageError(`--${option} must be a number (got "${raw}")`);
    const [first, second] = path;
    if (second === undefined) body[first] = value;
    else body[first] = { ...((body[first] as Record<string, unknown> | undefined) ?? {}), [second]: value };
  }
  const parsed = ExperimentStartBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String) ?? [];
    const option =
      path[0] === 'candidate'
        ? `${file} is not a valid policy: ${path.slice(1).join('.')}`
        : (OPTION_OF_FIELD[path.join('.')] ?? (path.join('.') || 'the options'));
    throw new UsageError(`${option}: ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

const EXPERIMENTS: Subcommand = {
  name: 'experiments',
  usage: 'flowtune ops experiments [list | start ... | status ID | stop ID --reason TEXT]',
  summary: 'A/B and shadow experiments of a candidate policy: list, start, status, stop',
  details: `Actions:
  list (default)                          the current experiment and the past ones, latest first
  start --policy-file F --kind ab|shadow [--split S] --reason TEXT [options]
                                          start an experiment of the policy document in F (checked
                                          against the Policy schema; its own version) against the
                                          active policy; 409 while another one runs
      --split S                           A/B: fraction of new items the candidate decides (0.01-0.5)
      --max-minutes M                     stopping rule: ends inconclusive M minutes after the start
      --min-per-arm N / --max-per-arm N   outcomes per arm before a promotion / at which it ends
      --promotion-alpha A                 bound on promoting a candidate no better than control
      --harm-alpha A                      guardrail: the harm test's bound (rolls back when worse)
      --max-sla-drop D                    guardrail: roll back once the candidate's SLA attainment is
                                          more than D (0.05 = 5 points) below control's
      --id ID                             the experiment's id (default exp-<start time>)
  status EXPERIMENT_ID                    the arms' KPIs, the sequential tests' evidence and what
                                          happens next (promote when, roll back when, ends at)
  stop EXPERIMENT_ID --reason TEXT        stop a running experiment: control stays, nothing promoted
Options left out take the tuning configuration's experiment settings.`,
  options: {
    reason: { type: 'string' },
    'policy-file': { type: 'string' },
    kind: { type: 'string' },
    id: { type: 'string' },
    ...Object.fromEntries(EXPERIMENT_NUMBERS.map(([option]) => [option, { type: 'string' as const }])),
  },
  positionals: ['ACTION', 'EXPERIMENT_ID'],
  arity: [0, 1, 2],
  run: async (client, input) => {
    const [action = 'list', id] = input.positionals;
    const experimentId = () => {
      if (id === undefined) {
        throw new UsageError(`"experiments ${action}" needs the EXPERIMENT_ID (see "experiments list")`);
      }
      return checked(ExperimentId, id, 'EXPERIMENT_ID');
    };
    if (action === 'list') {
      if (id !== undefined) throw new UsageError('"experiments list" takes no EXPERIMENT_ID');
      const result = await client.experiments();
      return show(input.json, result, () => formatExperiments(result));
    }
    if (action === 'start') {
      if (id !== undefined) throw new UsageError('"experiments start" takes no EXPERIMENT_ID: pass --id ID');
      const result = await client.startExperiment(experimentStartBody(input));
      return show(input.json, result, () => formatExperimentAction(result));
    }
    if (action === 'status') {
      const view = await client.experimentStatus(experimentId());
      return show(input.json, view, () => formatExperiment(view));
    }
    if (action === 'stop') {
      const result = await client.stopExperiment(experimentId(), { reason: reasonOf(input, 'experiments') });
      return show(input.json, result, () => formatExperimentAction(result));
    }
    throw new UsageError(`unknown action "${action}"; one of: list, start, status, stop`);
  },
};

const SUBCOMMANDS: readonly Subcommand[] = [...CORE_SUBCOMMANDS, EXPERIMENTS];

/** `ops serve`: a local runtime with its ops server, until Ctrl-C. */
const SERVE_USAGE = 'flowtune ops serve [--port N]';

function subcommandHelp(sub: Subcommand): string {
  const details = sub.details === undefined ? '' : `\n${sub.details}\n`;
  return `Usage: ${sub.usage} [target options]\n\n${sub.summary[0]?.toUpperCase()}${sub.summary.slice(1)}.\n${details}${TARGET_HELP}`;
}

const HELP = `
Usage: flowtune ops <subcommand> [options]

Operations on a running Flowtune: the deployed stack's ops API (HTTPS, SigV4-signed with your
AWS credentials, IAM-authorised) or the local runtime's ops server.

Subcommands:
${SUBCOMMANDS.map((sub) => `  ${sub.usage.replace('flowtune ops ', '').padEnd(56)} ${sub.summary}`).join('\n')}
  ${SERVE_USAGE.replace('flowtune ops ', '').padEnd(56)} start the local runtime with its ops server
${TARGET_HELP}

Examples:
  npx tsx bin/flowtune.ts ops tasks --outputs .build/deployed/stack-outputs.json
  npx tsx bin/flowtune.ts ops override HD-10428 --agent agent-ana --reason "VIP, knows the account" \\
      --endpoint https://abc123.execute-api.eu-west-1.amazonaws.com/v1/
  npx tsx bin/flowtune.ts ops serve --port 4010   # then: ops tasks --endpoint http://127.0.0.1:4010
`;

/** Runs a subcommand against a target; exported for tests, which pass their own fetch. */
export async function runOpsSubcommand(
  argv: readonly string[],
  io: {
    readonly out: (text: string) => void;
    readonly err: (text: string) => void;
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly fetch?: typeof fetch;
    readonly target?: OpsTarget;
  },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP.trim());
    return name === undefined ? 2 : 0;
  }
  if (name === 'serve') return serve(rest, io);
  const sub = SUBCOMMANDS.find((candidate) => candidate.name === name);
  if (sub === undefined) {
    throw new UsageError(
      `unknown subcommand "${name}"; one of: ${[...SUBCOMMANDS.map((s) => s.name), 'serve'].join(', ')}`,
    );
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...TARGET_OPTIONS, ...(sub.options ?? {}) },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}\nRun "flowtune ops ${sub.name} --help" for the options.`,
    );
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) {
    io.out(subcommandHelp(sub));
    return 0;
  }
  if (!(sub.arity ?? [sub.positionals.length]).includes(parsed.positionals.length)) {
    throw new UsageError(
      `expected ${sub.positionals.length === 0 ? 'no arguments' : sub.positionals.join(' ')}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.join(' ')}\nUsage: ${sub.usage}`,
    );
  }
  const env = io.env ?? process.env;
  let target: OpsTarget;
  try {
    target =
      io.target ??
      resolveTarget({
        endpoint: (values.endpoint as string | undefined) ?? env.FLOWTUNE_OPS_ENDPOINT,
        ...(typeof values.outputs === 'string' ? { outputsFile: values.outputs } : {}),
        ...(typeof values.stack === 'string' ? { stack: values.stack } : {}),
        ...(typeof values.region === 'string' ? { region: values.region } : {}),
        ...(values.sign === true ? { sign: true } : {}),
        ...(typeof values.actor === 'string' ? { actor: values.actor } : {}),
      });
  } catch (error) {
    if (error instanceof OpsTargetError) throw new UsageError(error.message);
    throw error;
  }
  const client = new OpsClient(target, io.fetch);
  try {
    io.out(await sub.run(client, { positionals: parsed.positionals, values, json: values.json === true }));
    return 0;
  } catch (error) {
    if (error instanceof OpsApiError) {
      io.err(`flowtune ops ${sub.name}: ${error.status} ${error.code}: ${error.message}`);
      return error.status === 403 ? 3 : 1;
    }
    if (error instanceof TypeError && /fetch failed/.test(error.message)) {
      io.err(
        `flowtune ops ${sub.name}: cannot reach ${target.endpoint} (${String((error as Error & { cause?: unknown }).cause ?? error.message)})`,
      );
      return 1;
    }
    throw error;
  }
}

async function serve(argv: readonly string[], io: { readonly out: (text: string) => void }): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${SERVE_USAGE}`);
  }
  if (parsed.values.help === true) {
    io.out(
      `Usage: ${SERVE_USAGE}\n\nStarts the embedded local runtime (DynamoDB Local, the real handlers, the ASL) and its ops\nserver on 127.0.0.1, then waits for Ctrl-C. Send events with the demo, act with ops commands.`,
    );
    return 0;
  }
  const port = parsed.values.port === undefined ? 0 : Number(parsed.values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError('--port must be 0-65535');
  // Loaded here: the local runtime pulls in DynamoDB Local and the ASL runner.
  const { startLocalRuntime } = await import('../../local/runtime');
  const { startOpsServer } = await import('../../local/ops-server');
  const runtime = await startLocalRuntime();
  const server = await startOpsServer(runtime, { port });
  io.out(
    `Local ops API: ${server.url}\n  e.g. flowtune ops bottlenecks --endpoint ${server.url}\nCtrl-C stops it.`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await runtime.stop();
  return 0;
}

/**
 * The `ops` command for bin/flowtune.ts. Register it with
 * `import { opsCommand } from '../ops/cli/ops';` and add `opsCommand` to COMMANDS.
 */
export const opsCommand: Command = {
  name: 'ops',
  summary:
    'operations: status, bottlenecks, human tasks, approve / override / reject / appeal, policies, tuning and staffing approvals, experiments',
  help: HELP,
  handlesHelp: true,
  run: (argv) =>
    runOpsSubcommand(argv, {
      out: (text) => process.stdout.write(`${text}\n`),
      err: (text) => process.stderr.write(`${text}\n`),
    }),
};
