import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Scenario files (YAML or JSON) describe a synthetic workload and workforce. Validated here, at
 * the edge: an invalid file is refused with the field path and the reason. See simulator/README.md.
 */

const Skill = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a lowercase skill slug');

const CategorySpec = z.object({
  name: z.string().min(1),
  /** Relative share of arrivals (normalised over categories). */
  share: z.number().positive(),
  meanHandlingSeconds: z.number().positive(),
  /** Coefficient of variation of handling time (lognormal). */
  handlingCv: z.number().min(0).max(5).default(1.2),
  requiredSkills: z
    .array(z.object({ skill: Skill, minProficiency: z.number().int().min(1).max(5).default(1) }))
    .min(1),
  /** Completion target from arrival, seconds. */
  slaSeconds: z.number().positive(),
  /** Mean patience while waiting (exponential), seconds; omit for no abandonment. */
  patienceSeconds: z.number().positive().optional(),
  /** Priority (1..5) → relative weight. */
  priorities: z.partialRecord(z.enum(['1', '2', '3', '4', '5']), z.number().min(0)).default({ '3': 1 }),
});

const AgentGroupSpec = z.object({
  group: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  count: z.number().int().min(1).max(5000),
  /** Skill → proficiency (1..5). */
  skills: z.record(Skill, z.number().int().min(1).max(5)),
  /** Concurrent items (1 for calls, more for chat or tickets). */
  capacity: z.number().int().min(1).max(20).default(1),
  /** Multiplier on handling time for the group (1.5 = 50% slower). */
  speed: z.number().positive().default(1),
  /** Per-category multipliers on handling time for this group, e.g. specialists fast at their own work. */
  categorySpeed: z.record(z.string(), z.number().positive()).default({}),
});

export const Scenario = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    /** Length of the simulated period, hours; arrivals stop at the end, then queues drain. */
    horizonHours: z
      .number()
      .positive()
      .max(24 * 60),
    /** Arrivals in the first hours are not measured (the system fills up, the model learns). */
    warmupHours: z.number().min(0).default(1),
    /** Offered load as a fraction of the LP capacity when no --load is given. */
    load: z.number().positive().max(3).default(0.9),
    categories: z.array(CategorySpec).min(1),
    agents: z.array(AgentGroupSpec).min(1),
    arrivals: z
      .object({
        /** 24 hourly multipliers (normalised to mean 1); omitted = flat. The run starts at hour `startHour`. */
        profile: z.array(z.number().min(0)).length(24).optional(),
        startHour: z.number().int().min(0).max(23).default(8),
        bursts: z
          .object({
            /** Expected bursts per simulated day (Poisson). */
            perDay: z.number().min(0),
            /** Arrival-rate multiplier during a burst. */
            multiplier: z.number().min(1),
            durationMinutes: z.number().positive(),
          })
          .optional(),
      })
      .default({ startHour: 8 }),
    heterogeneity: z
      .object({
        /** CV of each agent's overall speed factor (lognormal around the group speed). */
        agentSpeedCv: z.number().min(0).max(2).default(0.25),
        /** CV of each agent × category factor (comparative advantage). */
        agentCategorySpeedCv: z.number().min(0).max(2).default(0.25),
      })
      .default({ agentSpeedCv: 0.25, agentCategorySpeedCv: 0.25 }),
    predictions: z
      .object({
        /**
         * 'learned': policies see the handling statistics of the feature store (seeded history,
         * updated online from outcomes) and, unless noiseCv is null, item-level hints.
         * 'none': no statistics, no learning, no hints (a cold start with no model at all).
         */
        mode: z.enum(['learned', 'none']).default('learned'),
        /** CV of the multiplicative noise on item-level hints; null = no item-level hints at all. */
        noiseCv: z.number().min(0).max(5).nullable().default(0.5),
        /** Past observations per category × agent seeded into the feature store at the start. */
        historyPerCell: z.number().int().min(0).max(10_000).default(20),
      })
      .default({ mode: 'learned', noiseCv: 0.5, historyPerCell: 20 }),
    /** Dispatch rounds on every arrival/completion (0) or every N seconds (batched). */
    dispatchIntervalSeconds: z.number().min(0).default(0),
  })
  .superRefine((scenario, context) => {
    scenario.categories.forEach((category, index) => {
      const served = scenario.agents.some((group) =>
        category.requiredSkills.every((level) => (group.skills[level.skill] ?? 0) >= level.minProficiency),
      );
      if (!served) {
        context.addIssue({
          code: 'custom',
          path: ['categories', index, 'requiredSkills'],
          message: `no agent group holds every skill category "${category.name}" requires; add the skill to a group or relax minProficiency`,
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
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
}

/** Parses scenario text (YAML is a superset of JSON) and validates it. */
export function parseScenario(text: string, origin = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ScenarioError(`${origin}: not valid YAML/JSON: ${(error as Error).message}`);
  }
  const result = Scenario.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new ScenarioError(`${origin}: invalid scenario\n${details.join('\n')}`);
  }
  return result.data;
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read scenario file ${path}: ${(error as Error).message}`);
  }
  return parseScenario(text, path);
}
