import { z } from 'zod';
import { DEFAULT_POLICY, Policy } from '../../domain/policy';
import {
  type ArmOutcomes,
  bucketStart,
  CONFIDENCE_BINS,
  DEFAULT_TUNING_CONFIG,
  Experiment,
  type ExperimentStatus,
  emptyBucket,
  type Moments,
  type Observation,
  type ObservationBucket,
  observe,
  PolicyChangeProposalSchema,
  PolicyVersionRecord,
  RunningItem,
  TuningConfig,
  TuningState,
} from '../../domain/tuning';
import type { InMemoryTables } from './in-memory';

/**
 * The tuning loop's storage port and where it lives in the Features table. A DynamoDB and an
 * in-memory implementation follow the same contract (the conditions in each method's TSDoc).
 *
 * Features (pk, sk):
 *   POLICY / ACTIVE                 the active Policy (shared with FeatureStore)
 *   POLICY / V#<version>            PolicyVersionRecord: every version ever activated or proposed
 *   POLICY / TUNING                 TuningConfig (guardrails, experiment and drift settings)
 *   TUNING / STATE                  { state: TuningState (JSON), revision }
 *   TUNING / EXPERIMENT             the current Experiment (JSON); TUNING / EXPERIMENT#<id>: each one's last copy
 *   TUNING / B#<bucket start ISO>   observation counters (flat attributes, atomic ADD) and `seen` keys
 *   TUNING / APPROVAL#<id>          an approval request with its task token
 *   TUNING / RUN#<item id>          the item's latest start (category, startedAt, predictedSeconds,
 *                                   attempt) and its end (endedAt), for the work-in-progress snapshot
 */

export const TUNING_PK = 'TUNING';
export const POLICY_VERSION_PREFIX = 'V#';
export const TUNING_CONFIG_SK = 'TUNING';
export const STATE_SK = 'STATE';
export const EXPERIMENT_SK = 'EXPERIMENT';
export const BUCKET_PREFIX = 'B#';
export const APPROVAL_PREFIX = 'APPROVAL#';
export const RUN_PREFIX = 'RUN#';
/** Buckets are kept this long (epoch-seconds `expiresAt`, for a TTL on the Features table). */
export const BUCKET_RETENTION_DAYS = 14;
/**
 * A start is kept this long: an item running longer is taken as parked, not handled, and leaves
 * the snapshot (read-time filter too, as DynamoDB's TTL deletes late).
 */
export const RUN_RETENTION_HOURS = 24;
/** An ended row is kept this long, so a start redelivered after its item's end stays ignored. */
export const ENDED_RUN_RETENTION_HOURS = 6;
const HOUR_MS = 3_600_000;

/** The start of an item's handling, from Flowtune's own WorkItemRouted. */
export interface ItemStart {
  readonly itemId: string;
  readonly category: string;
  /** Epoch ms: when the item was routed to its assignee. */
  readonly startedAt: number;
  readonly predictedSeconds: number;
  readonly attempt: number;
}

/** An item in the work-in-progress snapshot, with what identifies it. */
export interface TrackedRunningItem extends RunningItem {
  readonly itemId: string;
  readonly attempt: number;
}

/**
 * Epoch seconds of a row's `expiresAt` (the table's TTL): `seconds` after the later of its data
 * time `at` and the wall-clock time it is written, `writtenAt` (both epoch ms). DynamoDB deletes an
 * expired row at any moment, and with it the memory of what was counted (a bucket's `seen` keys, an
 * item's end): keyed on the data time alone, an observation older than the retention (a replay, a
 * late redelivery, a runtime on virtual time) lands in a row already expired, and its redelivery
 * after the TTL sweep would be counted again.
 */
export function retainUntil(at: number, writtenAt: number, seconds: number): number {
  return Math.floor(Math.max(at, writtenAt) / 1000) + seconds;
}

/**
 * Whether a stored run row is running at `asOf`: started before it, within RUN_RETENTION_HOURS of
 * it (older: taken as parked), and not ended by it. Judged on the data times, never on
 * `expiresAt`, which is storage retention only.
 */
export function isRunningAt(
  row: { readonly startedAt?: number; readonly endedAt?: number },
  asOf: number,
): boolean {
  return (
    row.startedAt !== undefined &&
    row.startedAt < asOf &&
    row.startedAt > asOf - RUN_RETENTION_HOURS * HOUR_MS &&
    (row.endedAt === undefined || row.endedAt > asOf)
  );
}

/** A stored run row as the snapshot sees it; a row that is not one throws (fix it, do not guess). */
export const RunRow = RunningItem.extend({
  itemId: z.string().min(1),
  attempt: z.number().int().min(1),
});

export const ApprovalRequest = z.object({
  approvalId: z.string().min(1),
  taskToken: z.string().min(1),
  executionId: z.string().min(1),
  proposal: PolicyChangeProposalSchema,
  requestedAt: z.iso.datetime({ offset: true }),
  status: z.enum(['pending', 'approved', 'rejected']),
  resolvedBy: z.string().optional(),
  resolvedAt: z.iso.datetime({ offset: true }).optional(),
  reason: z.string().optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

export interface StoredState {
  readonly state: TuningState;
  readonly revision: number;
}

export interface TuningStore {
  /**
   * Adds an observation to the bucket of its time. Condition: `key` (e.g. `<itemId>#completion`)
   * was not recorded in that bucket before ('duplicate'), so a redelivered event counts once. The
   * bucket, and so that memory, is kept BUCKET_RETENTION_DAYS after the later of its start and the
   * last write (see `retainUntil`), however old the observation's time.
   */
  record(observation: Observation, key: string, bucketSeconds: number): Promise<'recorded' | 'duplicate'>;
  /**
   * Records that an item started (was routed). Condition: the item has not ended, and no start of
   * a later attempt (or of the same attempt at a later or equal time) is stored; otherwise
   * 'unchanged'. So a redelivered start changes nothing and a re-route replaces the earlier start.
   */
  recordStart(start: ItemStart): Promise<'recorded' | 'unchanged'>;
  /**
   * Records that an item ended (completed, cancelled, escalated) at `endedAt`, whether or not its
   * start was seen (a start delivered later is then ignored). Condition: no earlier end is stored
   * ('unchanged'): the earliest end stands, whatever the order of delivery.
   */
  recordEnd(itemId: string, endedAt: number): Promise<'recorded' | 'unchanged'>;
  /**
   * The work in progress at `asOf`: items whose stored start is before `asOf`, not ended by it
   * and not older than RUN_RETENTION_HOURS; oldest start first.
   */
  listRunning(asOf: number): Promise<TrackedRunningItem[]>;
  /** Buckets starting in [from, to), oldest first. */
  readBuckets(from: number, to: number): Promise<ObservationBucket[]>;
  readState(): Promise<StoredState | undefined>;
  /** Condition: the stored revision is `expectedRevision` (no state stored when undefined). */
  saveState(state: TuningState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'>;
  /** The current experiment (TUNING / EXPERIMENT), whatever its status. */
  readExperiment(): Promise<Experiment | undefined>;
  /** Writes the current experiment and its own copy, unconditionally (the tests' and the apply step's write). */
  saveExperiment(experiment: Experiment): Promise<void>;
  /**
   * Starts `experiment` as the current one. Conditions, in one transaction: no current experiment
   * is live (status running or awaiting-approval; 'busy' otherwise, so two starts cannot both win)
   * and no experiment of this id was ever stored ('id-taken').
   */
  beginExperiment(experiment: Experiment): Promise<'started' | 'busy' | 'id-taken'>;
  /**
   * Replaces the current experiment with `experiment` (and its copy). Condition: the current one is
   * the same experiment with status `expectedStatus` ('conflict' otherwise), so a cycle that read
   * it running cannot undo a stop, nor a stop a decision.
   */
  updateExperiment(experiment: Experiment, expectedStatus: ExperimentStatus): Promise<'saved' | 'conflict'>;
  /** One experiment by id, current or past (its copy, TUNING / EXPERIMENT#<id>). */
  getExperiment(experimentId: string): Promise<Experiment | undefined>;
  /** Every stored experiment, current and past, latest start first. */
  listExperiments(): Promise<Experiment[]>;
  /** The stored configuration, or the defaults; an invalid document throws (fix it, do not guess). */
  readConfig(): Promise<TuningConfig>;
  saveConfig(config: TuningConfig): Promise<void>;
  /** Condition: no version of this id exists yet ('exists' otherwise: versions are immutable). */
  putPolicyVersion(record: PolicyVersionRecord): Promise<'created' | 'exists'>;
  getPolicyVersion(version: string): Promise<PolicyVersionRecord | undefined>;
  listPolicyVersions(): Promise<PolicyVersionRecord[]>;
  /**
   * Makes `policy` active. Condition: the active version is still `expectedVersion` (the
   * default's version when nothing is stored), so two changes never overwrite each other.
   */
  activatePolicy(policy: Policy, expectedVersion: string): Promise<'activated' | 'conflict'>;
  putApprovalRequest(request: ApprovalRequest): Promise<void>;
  getApprovalRequest(approvalId: string): Promise<ApprovalRequest | undefined>;
  listPendingApprovals(): Promise<ApprovalRequest[]>;
  /** Condition: the request is pending. */
  resolveApprovalRequest(
    approvalId: string,
    resolution: {
      readonly status: 'approved' | 'rejected';
      readonly by: string;
      readonly reason: string;
      readonly at: number;
    },
  ): Promise<'resolved' | 'not-pending'>;
}

/** Statuses of an experiment still deciding (a new one cannot start beside it). */
export const LIVE_EXPERIMENT_STATUSES: readonly ExperimentStatus[] = ['running', 'awaiting-approval'];

/** Latest start first (then by id, so the order is total). */
export function sortExperiments(experiments: Experiment[]): Experiment[] {
  return experiments.sort(
    (a, b) => b.startedAt - a.startedAt || a.experimentId.localeCompare(b.experimentId),
  );
}

export class InvalidTuningConfigError extends Error {
  override readonly name = 'InvalidTuningConfigError';
}

export function parseTuningConfig(raw: unknown): TuningConfig {
  const parsed = TuningConfig.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InvalidTuningConfigError(
    `stored tuning configuration (pk POLICY, sk TUNING) is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
  );
}

export function bucketSortKey(start: number): string {
  return `${BUCKET_PREFIX}${new Date(start).toISOString()}`;
}

// ---------------------------------------------------------------------------------------------
// Flat bucket attributes: one number per counter, so DynamoDB can ADD each atomically.
//   n|<category>                 arrivals           r|<category>|c|s|q   residual moments
//   h|<category>|c|s|q           handling moments   g|<category>#<agent>|c|s|q   per agent
//   f|<bin>                      confidence bins    o|<arm>|d|m          outcomes (decided, met)
//   e  large errors              qc qr qw qn        quality (completed, reopened, rework, not first time)
//   k|<category>                 required skills (JSON, set, not added)
// ---------------------------------------------------------------------------------------------

const SEP = '|';

export interface BucketIncrements {
  readonly add: Readonly<Record<string, number>>;
  readonly set: Readonly<Record<string, string>>;
}

/** The counters one observation adds (the same `observe` applies in memory). */
export function observationIncrements(observation: Observation): BucketIncrements {
  const bucket = emptyBucket(0, 1);
  // Derive the increments from `observe` itself, so the stored and in-memory buckets cannot disagree.
  const after = toAttributes(observe(bucket, observation));
  const set: Record<string, string> = {};
  const add: Record<string, number> = {};
  for (const [name, value] of Object.entries(after)) {
    if (typeof value === 'string') set[name] = value;
    else if (value !== 0) add[name] = value;
  }
  return { add, set };
}

/** A bucket as flat attributes (zeros omitted). */
export function toAttributes(bucket: ObservationBucket): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const moments = (prefix: string, value: Moments) => {
    if (value.count === 0) return;
    out[`${prefix}${SEP}c`] = value.count;
    out[`${prefix}${SEP}s`] = value.sum;
    out[`${prefix}${SEP}q`] = value.sumSq;
  };
  for (const [category, count] of Object.entries(bucket.arrivals))
    if (count !== 0) out[`n${SEP}${category}`] = count;
  for (const [category, value] of Object.entries(bucket.residuals)) moments(`r${SEP}${category}`, value);
  for (const [category, value] of Object.entries(bucket.handling)) moments(`h${SEP}${category}`, value);
  for (const [cell, value] of Object.entries(bucket.handlingByAgent)) moments(`g${SEP}${cell}`, value);
  bucket.confidence.forEach((count, bin) => {
    if (count !== 0) out[`f${SEP}${bin}`] = count;
  });
  for (const [arm, value] of Object.entries(bucket.outcomes)) {
    if (value.decided !== 0) out[`o${SEP}${arm}${SEP}d`] = value.decided;
    if (value.met !== 0) out[`o${SEP}${arm}${SEP}m`] = value.met;
  }
  if (bucket.largeErrors !== 0) out.e = bucket.largeErrors;
  const quality = bucket.quality;
  if (quality.completed !== 0) out.qc = quality.completed;
  if (quality.reopened !== 0) out.qr = quality.reopened;
  if (quality.rework !== 0) out.qw = quality.rework;
  if (quality.notFirstTime !== 0) out.qn = quality.notFirstTime;
  for (const [category, skills] of Object.entries(bucket.skills))
    out[`k${SEP}${category}`] = JSON.stringify(skills);
  return out;
}

const SkillList = z.array(z.object({ skill: z.string(), minProficiency: z.number() }));

/** Rebuilds a bucket from its flat attributes; attributes it does not know (pk, sk, seen...) are ignored. */
export function fromAttributes(
  start: number,
  seconds: number,
  item: Readonly<Record<string, unknown>>,
): ObservationBucket {
  const arrivals: Record<string, number> = {};
  const residuals: Record<string, Moments> = {};
  const handling: Record<string, Moments> = {};
  const handlingByAgent: Record<string, Moments> = {};
  const confidence = new Array<number>(CONFIDENCE_BINS).fill(0);
  const outcomes: Record<string, ArmOutcomes> = {};
  const skills: Record<string, { skill: string; minProficiency: number }[]> = {};
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const moment = (target: Record<string, Moments>, key: string, part: string, value: number) => {
    const current = target[key] ?? { count: 0, sum: 0, sumSq: 0 };
    target[key] =
      part === 'c'
        ? { ...current, count: value }
        : part === 's'
          ? { ...current, sum: value }
          : { ...current, sumSq: Math.max(0, value) };
  };
  for (const [name, raw] of Object.entries(item)) {
    const parts = name.split(SEP);
    const [kind] = parts;
    if (kind === 'k' && parts.length === 2 && typeof raw === 'string') {
      const parsed = SkillList.safeParse(JSON.parse(raw));
      if (parsed.success && parts[1] !== undefined) skills[parts[1]] = parsed.data;
      continue;
    }
    const value = number(raw);
    if (kind === 'n' && parts.length === 2 && parts[1] !== undefined) arrivals[parts[1]] = value;
    else if ((kind === 'r' || kind === 'h' || kind === 'g') && parts.length === 3) {
      const target = kind === 'r' ? residuals : kind === 'h' ? handling : handlingByAgent;
      moment(target, parts[1] ?? '', parts[2] ?? '', value);
    } else if (kind === 'f' && parts.length === 2) {
      const bin = Number(parts[1]);
      if (Number.isInteger(bin) && bin >= 0 && bin < CONFIDENCE_BINS) confidence[bin] = value;
    } else if (kind === 'o' && parts.length === 3 && parts[1] !== undefined) {
      const current = outcomes[parts[1]] ?? { decided: 0, met: 0 };
      outcomes[parts[1]] = parts[2] === 'd' ? { ...current, decided: value } : { ...current, met: value };
    }
  }
  return {
    ...emptyBucket(start, seconds),
    arrivals,
    residuals,
    largeErrors: number(item.e),
    handling,
    handlingByAgent,
    confidence,
    outcomes,
    skills,
    quality: {
      completed: number(item.qc),
      reopened: number(item.qr),
      rework: number(item.qw),
      notFirstTime: number(item.qn),
    },
  };
}

/** Parses the stored state (a JSON string, so its nested maps never meet DynamoDB's size rules per attribute). */
export function parseStoredState(item: Readonly<Record<string, unknown>>): StoredState | undefined {
  if (typeof item.state !== 'string' || typeof item.revision !== 'number') return undefined;
  return { state: TuningState.parse(JSON.parse(item.state)), revision: item.revision };
}

// ---------------------------------------------------------------------------------------------
// In memory
// ---------------------------------------------------------------------------------------------

const copy = <T>(value: T): T => structuredClone(value);

/** TuningStore in memory; shares the active policy with InMemoryFeatureStore through InMemoryTables. */
export class InMemoryTuningStore implements TuningStore {
  private readonly buckets = new Map<
    number,
    { seconds: number; attributes: Record<string, number | string>; seen: Set<string> }
  >();
  private state: StoredState | undefined;
  private experiment: Experiment | undefined;
  private readonly experiments = new Map<string, Experiment>();
  private config: unknown;
  private readonly versions = new Map<string, PolicyVersionRecord>();
  private readonly approvals = new Map<string, ApprovalRequest>();
  private readonly runs = new Map<string, { start?: ItemStart; endedAt?: number }>();

  constructor(private readonly tables: InMemoryTables) {}

  async recordStart(start: ItemStart): Promise<'recorded' | 'unchanged'> {
    const row = this.runs.get(start.itemId);
    const stored = row?.start;
    if (row?.endedAt !== undefined) return 'unchanged';
    if (
      stored !== undefined &&
      !(
        stored.attempt < start.attempt ||
        (stored.attempt === start.attempt && stored.startedAt < start.startedAt)
      )
    ) {
      return 'unchanged';
    }
    this.runs.set(start.itemId, { start: { ...start } });
    return 'recorded';
  }

  async recordEnd(itemId: string, endedAt: number): Promise<'recorded' | 'unchanged'> {
    const row = this.runs.get(itemId);
    if (row?.endedAt !== undefined && row.endedAt <= endedAt) return 'unchanged';
    this.runs.set(itemId, { ...row, endedAt });
    return 'recorded';
  }

  async listRunning(asOf: number): Promise<TrackedRunningItem[]> {
    const running: TrackedRunningItem[] = [];
    for (const row of this.runs.values()) {
      const start = row.start;
      if (start === undefined || !isRunningAt({ ...row, startedAt: start.startedAt }, asOf)) continue;
      running.push(
        RunRow.parse({
          itemId: start.itemId,
          category: start.category,
          startedAt: start.startedAt,
          predictedSeconds: start.predictedSeconds,
          attempt: start.attempt,
        }),
      );
    }
    return running.sort((a, b) => a.startedAt - b.startedAt || a.itemId.localeCompare(b.itemId));
  }

  async record(
    observation: Observation,
    key: string,
    bucketSeconds: number,
  ): Promise<'recorded' | 'duplicate'> {
    const start = bucketStart(observation.at, bucketSeconds);
    const bucket = this.buckets.get(start) ?? {
      seconds: bucketSeconds,
      attributes: {},
      seen: new Set<string>(),
    };
    if (bucket.seen.has(key)) return 'duplicate';
    const { add, set } = observationIncrements(observation);
    for (const [name, value] of Object.entries(add)) {
      const current = bucket.attributes[name];
      bucket.attributes[name] = (typeof current === 'number' ? current : 0) + value;
    }
    Object.assign(bucket.attributes, set);
    bucket.seen.add(key);
    this.buckets.set(start, bucket);
    return 'recorded';
  }

  async readBuckets(from: number, to: number): Promise<ObservationBucket[]> {
    return [...this.buckets.entries()]
      .filter(([start]) => start >= from && start < to)
      .sort(([a], [b]) => a - b)
      .map(([start, bucket]) => fromAttributes(start, bucket.seconds, bucket.attributes));
  }

  async readState(): Promise<StoredState | undefined> {
    return this.state === undefined ? undefined : copy(this.state);
  }

  async saveState(state: TuningState, expectedRevision: number | undefined): Promise<'saved' | 'conflict'> {
    if (this.state?.revision !== expectedRevision) return 'conflict';
    this.state = { state: TuningState.parse(copy(state)), revision: (expectedRevision ?? 0) + 1 };
    return 'saved';
  }

  async readExperiment(): Promise<Experiment | undefined> {
    return this.experiment === undefined ? undefined : copy(this.experiment);
  }

  async saveExperiment(experiment: Experiment): Promise<void> {
    this.experiment = Experiment.parse(copy(experiment));
    this.experiments.set(experiment.experimentId, copy(this.experiment));
  }

  async beginExperiment(experiment: Experiment): Promise<'started' | 'busy' | 'id-taken'> {
    if (this.experiment !== undefined && LIVE_EXPERIMENT_STATUSES.includes(this.experiment.status))
      return 'busy';
    if (this.experiments.has(experiment.experimentId)) return 'id-taken';
    await this.saveExperiment(experiment);
    return 'started';
  }

  async updateExperiment(
    experiment: Experiment,
    expectedStatus: ExperimentStatus,
  ): Promise<'saved' | 'conflict'> {
    const current = this.experiment;
    if (current?.experimentId !== experiment.experimentId || current.status !== expectedStatus)
      return 'conflict';
    await this.saveExperiment(experiment);
    return 'saved';
  }

  async getExperiment(experimentId: string): Promise<Experiment | undefined> {
    const stored = this.experiments.get(experimentId);
    return stored === undefined ? undefined : copy(stored);
  }

  async listExperiments(): Promise<Experiment[]> {
    return sortExperiments([...this.experiments.values()].map(copy));
  }

  async readConfig(): Promise<TuningConfig> {
    return this.config === undefined ? DEFAULT_TUNING_CONFIG : parseTuningConfig(this.config);
  }

  async saveConfig(config: TuningConfig): Promise<void> {
    this.config = copy(TuningConfig.parse(config));
  }

  /** Test helper: stores a configuration document as is, valid or not. */
  seedConfig(raw: unknown): void {
    this.config = copy(raw);
  }

  async putPolicyVersion(record: PolicyVersionRecord): Promise<'created' | 'exists'> {
    if (this.versions.has(record.version)) return 'exists';
    this.versions.set(record.version, PolicyVersionRecord.parse(copy(record)));
    return 'created';
  }

  async getPolicyVersion(version: string): Promise<PolicyVersionRecord | undefined> {
    const record = this.versions.get(version);
    return record === undefined ? undefined : copy(record);
  }

  async listPolicyVersions(): Promise<PolicyVersionRecord[]> {
    return [...this.versions.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(copy);
  }

  async activatePolicy(policy: Policy, expectedVersion: string): Promise<'activated' | 'conflict'> {
    const stored = this.tables.activePolicy;
    const activeVersion =
      stored === undefined ? DEFAULT_POLICY.version : Policy.safeParse(stored).data?.version;
    if (activeVersion !== expectedVersion) return 'conflict';
    this.tables.activePolicy = copy(Policy.parse(policy));
    return 'activated';
  }

  async putApprovalRequest(request: ApprovalRequest): Promise<void> {
    this.approvals.set(request.approvalId, ApprovalRequest.parse(copy(request)));
  }

  async getApprovalRequest(approvalId: string): Promise<ApprovalRequest | undefined> {
    const request = this.approvals.get(approvalId);
    return request === undefined ? undefined : copy(request);
  }

  async listPendingApprovals(): Promise<ApprovalRequest[]> {
    return [...this.approvals.values()].filter((request) => request.status === 'pending').map(copy);
  }

  async resolveApprovalRequest(
    approvalId: string,
    resolution: { status: 'approved' | 'rejected'; by: string; reason: string; at: number },
  ): Promise<'resolved' | 'not-pending'> {
    const request = this.approvals.get(approvalId);
    if (request?.status !== 'pending') return 'not-pending';
    this.approvals.set(approvalId, {
      ...request,
      status: resolution.status,
      resolvedBy: resolution.by,
      resolvedAt: new Date(resolution.at).toISOString(),
      reason: resolution.reason,
    });
    return 'resolved';
  }
}
