import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SeasonalProfileOptions } from '../../domain/allocation/forecast';
import { AllocationPolicy } from '../../domain/allocation/recommend';
import { ServiceLevelTarget } from '../../domain/allocation/staffing';

/**
 * Allocation scenarios: queues with their own time-varying demand (a base hourly rate, a daily
 * profile and surges), agents logged into one queue each, and the allocation policy. Agents work
 * only the queue they are in, as in a contact centre where people are logged into one queue:
 * allocation decides which queue that is. Validated at the edge like the simulator's scenarios.
 */

const Slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase slug');

const Surge = z.object({
  /** Hours from the run's start. */
  fromHour: z.number().min(0),
  toHour: z.number().positive(),
  /** Arrival-rate multiplier while it lasts. */
  multiplier: z.number().positive(),
});

const QueueDefinition = z.object({
  queueId: Slug,
  /** Mean arrivals per hour at profile multiplier 1. */
  arrivalsPerHour: z.number().min(0),
  /** 24 hourly multipliers by local clock hour; omitted = flat. Applies to history and the run alike. */
  profile: z.array(z.number().min(0)).length(24).optional(),
  /** Unforeseen surges during the run (not in the history the forecaster learns from). */
  surges: z.array(Surge).default([]),
  meanHandlingSeconds: z.number().positive(),
  handlingCv: z.number().min(0).max(5).default(1),
  /** Mean patience (exponential), seconds; omit when nobody abandons. */
  patienceSeconds: z.number().positive().optional(),
  target: ServiceLevelTarget,
  requiredSkills: z
    .array(z.object({ skill: Slug, minProficiency: z.number().int().min(1).max(5).default(1) }))
    .min(1),
});

const AgentGroup = z.object({
  group: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  count: z.number().int().min(1).max(1000),
  skills: z.record(Slug, z.number().int().min(1).max(5)),
  /** The queue the group is logged into at the start. */
  queue: Slug,
  capacity: z.number().int().min(1).max(20).default(1),
  /** On shift [from, to) in hours from the run's start; default the whole run and after. */
  shift: z.tuple([z.number().min(0), z.number().positive()]).optional(),
});

export const AllocationScenario = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    horizonHours: z.number().positive().max(48),
    warmupHours: z.number().min(0).default(0.5),
    /** Local clock hour at which the run starts (the forecaster's calendar). */
    startHour: z.number().int().min(0).max(23).default(8),
    /** Days of arrival history (without surges) the forecaster starts from. */
    historyDays: z.number().int().min(1).max(60).default(14),
    /** Routing policy used inside each queue (any name in the routing registry). */
    routing: z.string().default('longest-idle-fcfs'),
    queues: z.array(QueueDefinition).min(2),
    agents: z.array(AgentGroup).min(1),
    policy: AllocationPolicy,
    forecast: SeasonalProfileOptions.partial().default({}),
    /** Seconds between allocation runs; default the policy's interval. */
    allocationEverySeconds: z.number().positive().optional(),
  })
  .superRefine((scenario, context) => {
    const queueIds = new Set(scenario.queues.map((queue) => queue.queueId));
    scenario.agents.forEach((group, index) => {
      if (!queueIds.has(group.queue)) {
        context.addIssue({
          code: 'custom',
          path: ['agents', index, 'queue'],
          message: `queue "${group.queue}" is not defined; defined: ${[...queueIds].join(', ')}`,
        });
        return;
      }
      const queue = scenario.queues.find((candidate) => candidate.queueId === group.queue);
      const qualified = queue?.requiredSkills.every(
        (requirement) => (group.skills[requirement.skill] ?? 0) >= requirement.minProficiency,
      );
      if (!qualified) {
        context.addIssue({
          code: 'custom',
          path: ['agents', index, 'skills'],
          message: `group "${group.group}" lacks the skills queue "${group.queue}" requires`,
        });
      }
    });
    if (scenario.warmupHours >= scenario.horizonHours) {
      context.addIssue({
        code: 'custom',
        path: ['warmupHours'],
        message: 'must be shorter than horizonHours',
      });
    }
  });
export type AllocationScenario = z.infer<typeof AllocationScenario>;
export type QueueDefinition = z.infer<typeof QueueDefinition>;

export class AllocationScenarioError extends Error {
  override readonly name = 'AllocationScenarioError';
}

export function parseAllocationScenario(text: string, origin = 'allocation scenario'): AllocationScenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new AllocationScenarioError(`${origin}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  const result = AllocationScenario.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new AllocationScenarioError(`${origin}: invalid allocation scenario\n${details.join('\n')}`);
  }
  return result.data;
}

export function loadAllocationScenario(path: string): AllocationScenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AllocationScenarioError(`cannot read allocation scenario ${path}: ${(error as Error).message}`);
  }
  return parseAllocationScenario(text, path);
}
