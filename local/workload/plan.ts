import { SLA_CLASS_TARGET_SECONDS } from '../../domain/events';
import { createStream, lognormal, type RandomSource, weightedIndex } from '../../domain/random';

/**
 * A seeded workload for the local runtime: who works when, what arrives when, and what each
 * producer and agent will do wrong on purpose (duplicates, malformed events, completions out of
 * order, items that never complete, cancellations). Pure: the same options give the same plan,
 * and every handling time is drawn from a stream named by item, attempt and agent, so a re-run
 * replays the same work whatever order the runtime routes it in.
 */

export type SlaClass = 'P1' | 'P2' | 'P3' | 'P4';
/** An item with an explicit due time minutes away: high SLA risk, so the policy asks a person. */
export type SlaGroup = SlaClass | 'rush';

/** A queue of work: its skill, the executing system that owns it, and how long it takes. */
export interface CategoryProfile {
  readonly category: string;
  readonly kind: 'ticket' | 'order' | 'claim';
  readonly source: string;
  /** Mean handling time of a proficiency-3 agent at speed 1, in seconds. */
  readonly meanSeconds: number;
  /** Share of arrivals. */
  readonly share: number;
  /** Straight-through automation takes its low-priority items (the demo policy lists it). */
  readonly automated?: boolean;
}

export const CATEGORIES: readonly CategoryProfile[] = [
  { category: 'billing', kind: 'ticket', source: 'helpdesk', meanSeconds: 8 * 60, share: 0.3 },
  { category: 'technical', kind: 'ticket', source: 'helpdesk', meanSeconds: 12 * 60, share: 0.22 },
  { category: 'orders', kind: 'order', source: 'order-management', meanSeconds: 5 * 60, share: 0.2 },
  { category: 'claims', kind: 'claim', source: 'claims', meanSeconds: 15 * 60, share: 0.14 },
  {
    category: 'password-reset',
    kind: 'ticket',
    source: 'helpdesk',
    meanSeconds: 2 * 60,
    share: 0.14,
    automated: true,
  },
];

/** Language skill some items need on top of their category. */
export const LANGUAGE_SKILL = 'german';
/** Coefficient of variation of a person's handling time. */
export const HANDLING_CV = 0.5;

const SLA_SHARES: readonly [SlaClass, number][] = [
  ['P1', 0.12],
  ['P2', 0.28],
  ['P3', 0.4],
  ['P4', 0.2],
];
const PRIORITY_OF: Readonly<Record<SlaClass, number>> = { P1: 5, P2: 4, P3: 3, P4: 2 };
const TIERS = ['standard', 'standard', 'standard', 'silver', 'silver', 'gold', 'platinum'] as const;
const CHANNELS = ['email', 'chat', 'phone', 'web'] as const;
const NAMES = [
  'ana',
  'ben',
  'chloe',
  'dev',
  'eva',
  'finn',
  'gita',
  'hugo',
  'ines',
  'jon',
  'kai',
  'lena',
  'mo',
  'nora',
  'omar',
  'pia',
  'quinn',
  'rosa',
  'sam',
  'tara',
] as const;

/** Shares of the deliberate trouble, each a fraction of the planned items. */
export interface TroubleShares {
  /** WorkItemCreated sent twice. */
  readonly duplicateCreated: number;
  /** WorkItemCreated that fails validation (a bad field, or a bad id). */
  readonly malformed: number;
  /** WorkItemCompleted sent twice. */
  readonly duplicateCompletion: number;
  /** WorkItemCompleted sent the moment the item is routed, racing the completion wait. */
  readonly earlyCompletion: number;
  /** Assigned but never completed: the SLA window passes, the item is re-routed, then escalated. */
  readonly neverCompletes: number;
  /** WorkItemCancelled by the producer minutes after creation. */
  readonly cancelled: number;
  /** Due minutes after creation: the policy sends them to human review. */
  readonly rush: number;
  /**
   * Share of the cancelled items whose WorkItemCancelled is sent in the same instant as their
   * creation, so it overtakes it (it goes straight to its function). @default 0.5
   */
  readonly finishRightAfterCreate?: number;
  /** Share of the malformed items (a bad field, not a bad id) sent again corrected after their rejection. @default 0.5 */
  readonly resendAfterReject?: number;
  /** Share of the agents that also send one AgentStatusChanged stamped 9999-12-31 (must be refused). @default 0.25 */
  readonly farFutureStatus?: number;
}

export const DEMO_TROUBLE: TroubleShares = {
  duplicateCreated: 0.03,
  malformed: 0.02,
  duplicateCompletion: 0.03,
  earlyCompletion: 0.02,
  neverCompletes: 0.02,
  cancelled: 0.01,
  rush: 0.03,
};

export interface WorkloadOptions {
  readonly seed: number;
  /** Work items planned (valid and malformed together). */
  readonly items: number;
  /** Arrivals are spread over this many simulated seconds (Poisson, rate items / horizon). */
  readonly horizonSeconds: number;
  /** @default 12 */
  readonly agents?: number;
  /** @default DEMO_TROUBLE */
  readonly trouble?: TroubleShares;
  /** Minutes from creation to due for rush items. @default 5 */
  readonly rushDueMinutes?: number;
  /** Prefix of item ids, so several plans can share one runtime. @default '' */
  readonly idPrefix?: string;
}

export interface SkillLevel {
  readonly skill: string;
  readonly proficiency: number;
}

export interface PlannedAgent {
  readonly agentId: string;
  readonly skills: readonly SkillLevel[];
  readonly capacity: number;
  /** Multiplies handling times: 0.8 is a fast agent, 1.3 a slow one. */
  readonly speed: number;
  /** Simulated seconds from the start. */
  readonly onlineAt: number;
  /** Undefined: works to the end. Items in hand are still finished after going offline. */
  readonly offlineAt?: number;
}

/** What went wrong with a malformed item, and the field the rejection must name. */
export interface Defect {
  readonly field: string;
  readonly description: string;
  readonly patch: Readonly<Record<string, unknown>>;
  /** Drop these detail fields. */
  readonly remove?: readonly string[];
}

export type ItemFate = 'complete' | 'never-completes' | 'cancelled' | 'malformed';

export interface PlannedItem {
  readonly itemId: string;
  readonly index: number;
  /** Simulated seconds from the start. */
  readonly arrivalAt: number;
  readonly category: string;
  readonly kind: CategoryProfile['kind'];
  readonly source: string;
  readonly slaGroup: SlaGroup;
  readonly priority: number;
  readonly customerTier: (typeof TIERS)[number];
  readonly channel: (typeof CHANNELS)[number];
  readonly requiredSkills: readonly { readonly skill: string; readonly minProficiency: number }[];
  readonly fate: ItemFate;
  readonly defect?: Defect;
  /** Simulated seconds after the original when the duplicate WorkItemCreated is sent. */
  readonly duplicateAfter?: number;
  /** Simulated seconds after the completion when it is sent again. */
  readonly duplicateCompletionAfter?: number;
  readonly earlyCompletion: boolean;
  /** Simulated seconds after creation when WorkItemCancelled is sent (0: in the same instant). */
  readonly cancelAfter?: number;
  /** Malformed: the producer sends the corrected WorkItemCreated once it hears of the rejection. */
  readonly resendAfterReject?: boolean;
  /** Simulated seconds a reviewer takes when the item is sent to human review. */
  readonly reviewSeconds: number;
}

/** An AgentStatusChanged the workforce system sends, at a simulated time. */
export interface PlannedStatus {
  readonly at: number;
  readonly agentId: string;
  readonly status: 'available' | 'offline';
  /** Re-sends the agent's earlier status with its earlier changedAt: it must be ignored as stale. */
  readonly staleReplayOf?: number;
  /** Sent with changedAt 9999-12-31: must be refused naming changedAt, and must not freeze the agent. */
  readonly farFuture?: boolean;
}

export interface WorkloadPlan {
  readonly options: Required<Omit<WorkloadOptions, 'trouble'>> & { readonly trouble: TroubleShares };
  readonly agents: readonly PlannedAgent[];
  readonly items: readonly PlannedItem[];
  readonly statuses: readonly PlannedStatus[];
  /** WorkItemCompleted events for items nobody created: each must be rejected, naming `id`. */
  readonly strayCompletions: readonly string[];
}

const pick = <T>(random: RandomSource, values: readonly T[]): T => {
  const value = values[Math.floor(random.next() * values.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
};

const round = (value: number) => Math.round(value * 1000) / 1000;

/** Chooses exactly round(share × n) distinct indexes among `eligible` (all when fewer). */
function chooseIndexes(random: RandomSource, eligible: readonly number[], count: number): Set<number> {
  const pool = [...eligible];
  for (let index = pool.length - 1; index > 0; index--) {
    const swap = Math.floor(random.next() * (index + 1));
    [pool[index], pool[swap]] = [pool[swap] as number, pool[index] as number];
  }
  return new Set(pool.slice(0, Math.min(count, pool.length)));
}

function planAgents(seed: number, count: number, horizonSeconds: number): PlannedAgent[] {
  const random = createStream(seed, 'agents');
  const people = CATEGORIES.filter((category) => !category.automated);
  const agents: PlannedAgent[] = [];
  for (let index = 0; index < count; index++) {
    const primary = people[index % people.length] as CategoryProfile;
    const secondary = people[(index + 1 + Math.floor(random.next() * (people.length - 1))) % people.length];
    const skills: SkillLevel[] = [
      { skill: primary.category, proficiency: 4 + Math.floor(random.next() * 2) },
    ];
    if (secondary && secondary.category !== primary.category) {
      skills.push({ skill: secondary.category, proficiency: 2 + Math.floor(random.next() * 3) });
    }
    // Everyone can reset a password. German: the first agent of each category (who works the
    // whole run, so every skill combination an item can ask for stays staffed) and every third.
    skills.push({ skill: 'password-reset', proficiency: 3 });
    const anchor = index < people.length;
    if (anchor || index % 3 === 0)
      skills.push({ skill: LANGUAGE_SKILL, proficiency: 3 + Math.floor(random.next() * 3) });
    const name = NAMES[index % NAMES.length] ?? 'agent';
    // Every fifth joins during the first third of the run; two leave near its end.
    const latecomer = !anchor && index % 5 === 4;
    const leaver = index === 5 || index === 10;
    agents.push({
      agentId: `agent-${name}${index >= NAMES.length ? `-${Math.floor(index / NAMES.length)}` : ''}`,
      skills,
      capacity: 3 + Math.floor(random.next() * 3),
      speed: round(lognormal(random, 1, 0.2)),
      onlineAt: latecomer ? round(horizonSeconds * (0.1 + 0.25 * random.next())) : 0,
      ...(leaver ? { offlineAt: round(horizonSeconds * (0.7 + 0.15 * random.next())) } : {}),
    });
  }
  return agents;
}

function defectFor(random: RandomSource, id: string): Defect {
  const defects: Defect[] = [
    { field: 'priority', description: 'priority 9 (allowed 1-5)', patch: { priority: 9 } },
    {
      field: 'slaClass',
      description: 'neither slaClass nor slaDueAt',
      patch: {},
      remove: ['slaClass', 'slaDueAt'],
    },
    { field: 'kind', description: 'unknown kind "fax"', patch: { kind: 'fax' } },
    {
      field: 'requiredSkills.0.minProficiency',
      description: 'minimum proficiency 7 (allowed 1-5)',
      patch: { requiredSkills: [{ skill: 'billing', minProficiency: 7 }] },
    },
    { field: 'createdAt', description: 'createdAt is not a timestamp', patch: { createdAt: 'yesterday' } },
    { field: 'id', description: 'an id with spaces', patch: { id: `${id} bad id` } },
  ];
  return pick(random, defects);
}

/**
 * The plan for `options`: agents with skills, capacity, speed and shifts; items with arrival
 * times, categories, SLA classes, skills and their fate; the status changes to send.
 *
 * @example
 * const plan = planWorkload({ seed: 7, items: 300, horizonSeconds: 3 * 3600 });
 * plan.items.filter((item) => item.fate === 'malformed').length; // 6
 */
export function planWorkload(options: WorkloadOptions): WorkloadPlan {
  const resolved = {
    seed: options.seed,
    items: options.items,
    horizonSeconds: options.horizonSeconds,
    agents: options.agents ?? 12,
    trouble: options.trouble ?? DEMO_TROUBLE,
    rushDueMinutes: options.rushDueMinutes ?? 5,
    idPrefix: options.idPrefix ?? '',
  };
  if (!Number.isInteger(resolved.items) || resolved.items < 1)
    throw new RangeError(`items must be a positive integer, got ${resolved.items}`);
  if (!(resolved.horizonSeconds > 0))
    throw new RangeError(`horizonSeconds must be positive, got ${resolved.horizonSeconds}`);
  if (!Number.isInteger(resolved.agents) || resolved.agents < 4)
    throw new RangeError(
      `agents must be an integer of at least 4 (one per category), got ${resolved.agents}`,
    );
  const { seed, items: count, horizonSeconds, trouble } = resolved;

  const agents = planAgents(seed, resolved.agents, horizonSeconds);

  // Arrivals: a Poisson process of `count` points on the horizon (sorted uniforms).
  const arrivals = createStream(seed, 'arrivals');
  const arrivalTimes = Array.from({ length: count }, () => round(arrivals.next() * horizonSeconds)).sort(
    (a, b) => a - b,
  );

  const shape = createStream(seed, 'items');
  const drafts = arrivalTimes.map((arrivalAt, index) => {
    const category = CATEGORIES[
      weightedIndex(
        shape,
        CATEGORIES.map((entry) => entry.share),
      )
    ] as CategoryProfile;
    const slaClass =
      SLA_SHARES[
        weightedIndex(
          shape,
          SLA_SHARES.map(([, share]) => share),
        )
      ]?.[0] ?? 'P3';
    // Automation takes low-priority resets: make them P4.
    const slaGroup: SlaClass = category.automated ? 'P4' : slaClass;
    // Only long-SLA items ask for the language: their windows never close during a run, so they are
    // never re-routed away from the few who can take them (a re-route excludes the agent).
    const languageDraw = shape.next();
    const needsLanguage =
      !category.automated && (slaClass === 'P3' || slaClass === 'P4') && languageDraw < 0.2;
    return {
      index,
      arrivalAt,
      category,
      slaGroup,
      priority: category.automated ? 1 + Math.floor(shape.next() * 2) : PRIORITY_OF[slaGroup],
      customerTier: pick(shape, TIERS),
      channel: pick(shape, CHANNELS),
      requiredSkills: [
        {
          skill: category.category,
          minProficiency: category.automated ? 1 : 2 + Math.floor(shape.next() * 2),
        },
        ...(needsLanguage ? [{ skill: LANGUAGE_SKILL, minProficiency: 2 }] : []),
      ],
    };
  });

  const fates = createStream(seed, 'fates');
  const share = (fraction: number) => Math.round(fraction * count);
  const all = drafts.map((draft) => draft.index);
  const malformed = chooseIndexes(fates, all, share(trouble.malformed));
  const valid = all.filter((index) => !malformed.has(index));
  const people = valid.filter((index) => !drafts[index]?.category.automated);
  // Never-completing items are P1s arriving in the first half, so their windows pass during the run.
  const needsOnlyCategory = (index: number) => (drafts[index]?.requiredSkills.length ?? 0) === 1;
  const neverCandidates = people.filter(
    (index) =>
      drafts[index]?.slaGroup === 'P1' &&
      needsOnlyCategory(index) &&
      (drafts[index]?.arrivalAt ?? 0) < horizonSeconds / 2,
  );
  const never = chooseIndexes(fates, neverCandidates, share(trouble.neverCompletes));
  const rush = chooseIndexes(
    fates,
    people.filter((index) => !never.has(index) && needsOnlyCategory(index)),
    share(trouble.rush),
  );
  const cancelled = chooseIndexes(
    fates,
    valid.filter((index) => !never.has(index) && !rush.has(index)),
    share(trouble.cancelled),
  );
  const duplicated = chooseIndexes(fates, valid, share(trouble.duplicateCreated));
  const completing = valid.filter((index) => !never.has(index) && !cancelled.has(index));
  const duplicateCompletion = chooseIndexes(fates, completing, share(trouble.duplicateCompletion));
  const early = chooseIndexes(
    fates,
    completing.filter((index) => !rush.has(index)),
    share(trouble.earlyCompletion),
  );

  const prefixes: Readonly<Record<CategoryProfile['kind'], string>> = {
    ticket: 'TCK',
    order: 'ORD',
    claim: 'CLM',
  };
  // Hostile patterns draw from their own stream, so adding them shifts none of the draws above.
  const hostile = createStream(seed, 'hostile');
  const items: PlannedItem[] = drafts.map((draft) => {
    const itemId = `${resolved.idPrefix}${prefixes[draft.category.kind]}-${String(draft.index + 1).padStart(5, '0')}`;
    const fate: ItemFate = malformed.has(draft.index)
      ? 'malformed'
      : never.has(draft.index)
        ? 'never-completes'
        : cancelled.has(draft.index)
          ? 'cancelled'
          : 'complete';
    const isRush = rush.has(draft.index);
    // The seeded draws in their original order (defect, duplicate, duplicate completion, cancel, review).
    const defect = fate === 'malformed' ? defectFor(fates, itemId) : undefined;
    const duplicateAfter = duplicated.has(draft.index) ? round(5 + fates.next() * 120) : undefined;
    const duplicateCompletionAfter = duplicateCompletion.has(draft.index)
      ? round(fates.next() * 90)
      : undefined;
    const cancelLater = fate === 'cancelled' ? round(60 + fates.next() * 600) : undefined;
    const reviewSeconds = round(60 + fates.next() * 180);
    const cancelAtOnce = hostile.next() < (trouble.finishRightAfterCreate ?? 0.5);
    const resend =
      defect !== undefined && defect.field !== 'id' && hostile.next() < (trouble.resendAfterReject ?? 0.5);
    return {
      itemId,
      index: draft.index,
      arrivalAt: draft.arrivalAt,
      category: draft.category.category,
      kind: draft.category.kind,
      source: draft.category.source,
      slaGroup: isRush ? 'rush' : draft.slaGroup,
      priority: isRush ? 5 : draft.priority,
      customerTier: draft.customerTier,
      channel: draft.channel,
      requiredSkills: draft.requiredSkills,
      fate,
      ...(defect === undefined ? {} : { defect }),
      ...(resend ? { resendAfterReject: true } : {}),
      ...(duplicateAfter === undefined ? {} : { duplicateAfter }),
      ...(duplicateCompletionAfter === undefined ? {} : { duplicateCompletionAfter }),
      earlyCompletion: early.has(draft.index),
      ...(cancelLater === undefined ? {} : { cancelAfter: cancelAtOnce ? 0 : cancelLater }),
      reviewSeconds,
    };
  });

  const statuses: PlannedStatus[] = [];
  for (const agent of agents) {
    statuses.push({ at: agent.onlineAt, agentId: agent.agentId, status: 'available' });
    if (hostile.next() < (trouble.farFutureStatus ?? 0.25)) {
      statuses.push({
        at: round(agent.onlineAt + 5),
        agentId: agent.agentId,
        status: 'available',
        farFuture: true,
      });
    }
    if (agent.offlineAt !== undefined) {
      statuses.push({ at: agent.offlineAt, agentId: agent.agentId, status: 'offline' });
      // The workforce system replays the old "available" after the "offline": out of order.
      statuses.push({
        at: round(agent.offlineAt + 30),
        agentId: agent.agentId,
        status: 'available',
        staleReplayOf: agent.onlineAt,
      });
    }
  }
  statuses.sort((a, b) => a.at - b.at);

  const strays = Math.max(1, Math.round(count / 150));
  const strayCompletions = Array.from(
    { length: strays },
    (_, index) => `${resolved.idPrefix}GHOST-${String(index + 1).padStart(3, '0')}`,
  );

  return { options: resolved, agents, items, statuses, strayCompletions };
}

/** The item's SLA due time (simulated epoch ms) given its creation time. */
export function slaDueAt(plan: WorkloadPlan, item: PlannedItem, createdAt: number): number {
  if (item.slaGroup === 'rush') return createdAt + plan.options.rushDueMinutes * 60_000;
  return createdAt + SLA_CLASS_TARGET_SECONDS[item.slaGroup] * 1000;
}

/** The WorkItemCreated detail the producer sends (with the item's defect applied when malformed). */
export function createdDetail(
  plan: WorkloadPlan,
  item: PlannedItem,
  createdAt: number,
): Record<string, unknown> {
  const base: Record<string, unknown> = {
    schemaVersion: '1',
    id: item.itemId,
    kind: item.kind,
    channel: item.channel,
    category: item.category,
    requiredSkills: item.requiredSkills,
    priority: item.priority,
    customerTier: item.customerTier,
    ...(item.slaGroup === 'rush'
      ? { slaDueAt: new Date(slaDueAt(plan, item, createdAt)).toISOString() }
      : { slaClass: item.slaGroup }),
    createdAt: new Date(createdAt).toISOString(),
    customerId: `cust-${(item.index * 7919) % 100_000}`,
    attributes: { channelRef: `${item.channel}-${item.index}` },
  };
  if (item.defect === undefined) return base;
  const patched: Record<string, unknown> = { ...base, ...item.defect.patch };
  for (const field of item.defect.remove ?? []) delete patched[field];
  return patched;
}

/** The agent's mean handling time for the category, seconds: slower when less proficient. */
export function meanHandlingSeconds(agent: PlannedAgent, category: string): number {
  const profile = CATEGORIES.find((entry) => entry.category === category);
  const base = profile?.meanSeconds ?? 15 * 60;
  const proficiency = agent.skills.find((level) => level.skill === category)?.proficiency ?? 2;
  return base * agent.speed * (1.3 - 0.1 * proficiency);
}

/**
 * How long `agent` works on the item's attempt, in simulated seconds: lognormal around the
 * agent's mean, drawn from a stream named by item, attempt and agent (order-independent).
 */
export function handlingSeconds(
  plan: WorkloadPlan,
  item: PlannedItem,
  agent: PlannedAgent,
  attempt: number,
): number {
  const random = createStream(plan.options.seed, `handling:${item.itemId}:${attempt}:${agent.agentId}`);
  return round(Math.max(20, lognormal(random, meanHandlingSeconds(agent, item.category), HANDLING_CV)));
}

/** Straight-through automation's time for an item, simulated seconds (30 s to 2 min). */
export function automationSeconds(plan: WorkloadPlan, item: PlannedItem): number {
  const random = createStream(plan.options.seed, `automation:${item.itemId}`);
  return round(30 + random.next() * 90);
}

/** Valid items: everything but the malformed. */
export function validItems(plan: WorkloadPlan): PlannedItem[] {
  return plan.items.filter((item) => item.fate !== 'malformed');
}

/**
 * The handling statistics a team migrating from its helpdesk would seed: per category, the
 * mean and spread of a typical agent, as `count` past observations.
 */
export function seedHistory(
  count = 40,
): { readonly category: string; readonly count: number; readonly mean: number; readonly m2: number }[] {
  return CATEGORIES.map((category) => {
    const mean = category.meanSeconds;
    const variance = (HANDLING_CV * mean) ** 2;
    return { category: category.category, count, mean, m2: variance * (count - 1) };
  });
}
