import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_SLA_CLOCK, Policy } from '../../domain/policy';
import { TuningConfig } from '../../domain/tuning';
import { Scenario, ScenarioError } from '../scenario';

/**
 * Tuning scenarios (scenarios/tuning-*.yaml): an ordinary simulator scenario (simulator/scenario.ts)
 * plus what the tuning loop needs — a shift at a given hour, people on call, the loop's settings
 * and the active policy. `extends: <file>` takes every key of another scenario file and lets this
 * one override them, so each shift scenario states only what differs from the base.
 */

const Hours = z.number().min(0);

export const Shift = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('handling'),
    /** Items of this category that start from `atHours` on take `multiplier` × as long. */
    category: z.string().min(1),
    multiplier: z.number().positive(),
    atHours: Hours,
  }),
  z.object({
    kind: z.literal('arrivals'),
    /** From `atHours` on, arrivals run at `multiplier` × the base rate, same category mix. */
    multiplier: z.number().min(1),
    atHours: Hours,
  }),
  z.object({
    kind: z.literal('agents'),
    /** The first `count` agents of this group go offline at `atHours` for the rest of the run. */
    group: z.string().min(1),
    count: z.number().int().min(1),
    atHours: Hours,
  }),
]);
export type Shift = z.infer<typeof Shift>;

const StandbyGroup = z.object({
  group: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  count: z.number().int().min(1).max(500),
  skills: z.record(z.string(), z.number().int().min(1).max(5)),
  capacity: z.number().int().min(1).max(20).default(1),
  speed: z.number().positive().default(1),
});

export const TuningExtras = z.object({
  shift: Shift.optional(),
  /** People on call: offline until the loop calls them (or an approval lets it). */
  standby: z.array(StandbyGroup).default([]),
  /** Minutes a simulated operator takes to approve what needs approval. */
  approvalDelayMinutes: z.number().min(0).default(10),
  tuning: TuningConfig.default(TuningConfig.parse({})),
  /** The active decision policy at the start. */
  policy: Policy.default({
    version: 'sim-1',
    minConfidence: 0,
    maxAutoRisk: 0.95,
    automationCategories: [],
    automationMaxPriority: 2,
    maxReroutes: 1,
    minCompletionWindowSeconds: 900,
    slaClock: DEFAULT_SLA_CLOCK,
    routing: { strategy: 'flowtune', weights: {} },
  }),
  measure: z
    .object({
      /** Trailing window of arrivals over which SLA attainment is measured. */
      slaWindowMinutes: z.number().int().min(5).default(15),
      stepMinutes: z.number().int().min(1).default(5),
      /** "Corrected" = attainment back within this many points of its pre-shift level, for good. */
      tolerancePoints: z.number().min(0).default(2),
      /** Which detection counts as detecting this shift. */
      expects: z.enum(['arrival-rate', 'category-mix', 'residual', 'confidence', 'capacity']).optional(),
    })
    .default({ slaWindowMinutes: 15, stepMinutes: 5, tolerancePoints: 2 }),
});

export interface TuningScenario {
  readonly scenario: Scenario;
  readonly extras: z.infer<typeof TuningExtras>;
  readonly file: string;
}

function readYaml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ScenarioError(`cannot read scenario file ${path}: ${(error as Error).message}`);
  }
  const raw: unknown = parseYaml(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ScenarioError(`${path}: a tuning scenario must be a YAML mapping`);
  }
  return raw as Record<string, unknown>;
}

function resolveExtends(path: string, seen: readonly string[] = []): Record<string, unknown> {
  if (seen.includes(path)) throw new ScenarioError(`${path}: "extends" loops through ${seen.join(' → ')}`);
  const own = readYaml(path);
  const parent = own.extends;
  if (parent === undefined) return own;
  if (typeof parent !== 'string') throw new ScenarioError(`${path}: extends must be a file path`);
  const { extends: _ignored, ...rest } = own;
  return { ...resolveExtends(resolve(dirname(path), parent), [...seen, path]), ...rest };
}

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

/** Loads and validates a tuning scenario; errors name the file, the field and the fix. */
export function loadTuningScenario(path: string): TuningScenario {
  const raw = resolveExtends(resolve(path));
  const scenario = Scenario.safeParse(raw);
  if (!scenario.success) throw new ScenarioError(`${path}: invalid scenario\n${issues(scenario.error)}`);
  const extras = TuningExtras.safeParse(raw);
  if (!extras.success) throw new ScenarioError(`${path}: invalid tuning settings\n${issues(extras.error)}`);
  const shift = extras.data.shift;
  if (shift !== undefined && shift.atHours >= scenario.data.horizonHours) {
    throw new ScenarioError(`${path}: shift.atHours ${shift.atHours} must be before horizonHours`);
  }
  if (shift?.kind === 'handling' && !scenario.data.categories.some((c) => c.name === shift.category)) {
    throw new ScenarioError(`${path}: shift.category "${shift.category}" is not a category of the scenario`);
  }
  if (shift?.kind === 'agents' && !scenario.data.agents.some((group) => group.group === shift.group)) {
    throw new ScenarioError(`${path}: shift.group "${shift.group}" is not an agent group of the scenario`);
  }
  return { scenario: scenario.data, extras: extras.data, file: path };
}
