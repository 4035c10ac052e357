import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createStream, type RandomSource } from '../domain/random';
import { parseScenario, type Scenario, type ScenarioInput } from './scenario';

/**
 * Seeded random scenarios in the documented scenario format, for the benchmark's random section:
 * workloads nobody tuned for. Each draws a skill structure (specialist pools, a chain of two-skill
 * agents, overlapping multi-skill groups, fully flexible), capacities 1–5, a load of 0.5–1.1 of the
 * LP capacity, handling CV 0.5–2, agent speed heterogeneity, a priority and SLA mix, abandonment on
 * or off and a flat or shaped daily profile. The same (seed, index) always gives the same scenario,
 * and each is validated by the same zod schema as a scenario file, then written out so that any one
 * can be re-run with `flowtune simulate --scenario FILE`.
 */

export type SkillStructure = 'specialist' | 'chained' | 'overlapping' | 'flexible';
export const SKILL_STRUCTURES: readonly SkillStructure[] = [
  'specialist',
  'chained',
  'overlapping',
  'flexible',
];

/** Loads are drawn from this range (fractions of the LP capacity). */
export const RANDOM_LOAD_RANGE = [0.5, 1.1] as const;

const SKILLS = ['billing', 'tech', 'orders', 'returns', 'claims'];

const uniform = (random: RandomSource, low: number, high: number) => low + (high - low) * random.next();
const integer = (random: RandomSource, low: number, high: number) =>
  Math.min(high, Math.floor(uniform(random, low, high + 1)));
const pick = <T>(random: RandomSource, values: readonly T[]): T => {
  const value = values[Math.min(values.length - 1, Math.floor(random.next() * values.length))];
  if (value === undefined) throw new RangeError('pick from an empty list');
  return value;
};
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** Priority mixes teams run: uniform, a few urgent, a strong two-tier split, and mostly low. */
const PRIORITY_MIXES: readonly Record<string, number>[] = [
  { '3': 1 },
  { '2': 0.3, '3': 0.5, '5': 0.2 },
  { '1': 0.5, '4': 0.5 },
  { '1': 0.3, '2': 0.4, '3': 0.2, '5': 0.1 },
];

/** A daily profile: flat (undefined), one midday peak, or a morning and an afternoon peak. */
function profile(random: RandomSource): number[] | undefined {
  const shape = integer(random, 0, 2);
  if (shape === 0) return undefined;
  return Array.from({ length: 24 }, (_, hour) => {
    const peak = (centre: number, width: number) => Math.exp(-((hour - centre) ** 2) / (2 * width * width));
    const value = shape === 1 ? 0.2 + peak(12, 3) : 0.2 + peak(10, 1.5) + 0.8 * peak(15, 2);
    return round(value, 3);
  });
}

/**
 * The scenario number `index` of the set drawn under `seed`.
 *
 * @example
 * const scenario = randomScenario(1, 0); // name "random-1-00", load in [0.5, 1.1]
 */
export function randomScenario(seed: number, index: number): Scenario {
  const random = createStream(seed, `random-scenario-${index}`);
  const structure = SKILL_STRUCTURES[index % SKILL_STRUCTURES.length] ?? 'flexible';
  const skillCount = integer(random, 2, structure === 'flexible' ? 4 : 5);
  const skills = SKILLS.slice(0, skillCount);
  const handlingCv = round(uniform(random, 0.5, 2));
  const abandonment = random.next() < 0.5;
  const priorities = pick(random, PRIORITY_MIXES);
  const slaMultiple = uniform(random, 2, 10);
  const capacityMax = integer(random, 1, 5);

  const categories = skills.map((skill) => {
    const meanHandlingSeconds = Math.round(uniform(random, 90, 900));
    const slaSeconds = Math.round(meanHandlingSeconds * slaMultiple * uniform(random, 0.7, 1.3));
    return {
      name: skill,
      share: round(uniform(random, 0.5, 1.5)),
      meanHandlingSeconds,
      handlingCv,
      requiredSkills: [{ skill, minProficiency: 1 }],
      slaSeconds,
      ...(abandonment ? { patienceSeconds: Math.round(slaSeconds * uniform(random, 0.8, 2)) } : {}),
      priorities,
    };
  });
  // Sometimes a premium category that only seniors (proficiency 4+) may take.
  const premium = random.next() < 0.35;
  if (premium) {
    const base = categories[0];
    if (base !== undefined) {
      categories.push({
        ...base,
        name: 'premium',
        share: round(uniform(random, 0.1, 0.3)),
        requiredSkills: [{ skill: base.name, minProficiency: 4 }],
        slaSeconds: Math.round(base.slaSeconds * 0.6),
        ...(abandonment ? { patienceSeconds: Math.round(base.slaSeconds * 0.8) } : {}),
        priorities: { '5': 1 },
      });
    }
  }

  const groupSkills: Record<string, number>[] = [];
  const proficiency = () => integer(random, 2, 4);
  if (structure === 'specialist') {
    for (const skill of skills) groupSkills.push({ [skill]: proficiency() });
  } else if (structure === 'chained') {
    skills.forEach((skill, position) => {
      const next = skills[(position + 1) % skills.length] ?? skill;
      groupSkills.push({ [skill]: proficiency(), [next]: integer(random, 1, 3) });
    });
  } else if (structure === 'overlapping') {
    const groups = integer(random, 3, 5);
    for (let group = 0; group < groups; group++) {
      const held: Record<string, number> = {};
      const own = skills[group % skills.length] ?? 'billing';
      held[own] = proficiency();
      for (const skill of skills)
        if (skill !== own && random.next() < 0.4) held[skill] = integer(random, 1, 3);
      groupSkills.push(held);
    }
  } else {
    for (let group = 0; group < 2; group++)
      groupSkills.push(Object.fromEntries(skills.map((skill) => [skill, proficiency()])));
  }
  const agents = groupSkills.map((held, group) => ({
    group: `g${group + 1}`,
    count: integer(random, 2, 6),
    skills: held,
    capacity: integer(random, 1, capacityMax),
    speed: round(uniform(random, 0.8, 1.25)),
  }));
  if (premium) {
    // The seniors the premium work needs, fluent in the premium category's skill.
    const skill = skills[0] ?? 'billing';
    agents.push({
      group: 'senior',
      count: integer(random, 1, 3),
      skills: { [skill]: 5, ...(skills[1] === undefined ? {} : { [skills[1]]: 3 }) },
      capacity: integer(random, 1, capacityMax),
      speed: round(uniform(random, 0.7, 0.95)),
    });
  }

  const input: ScenarioInput = {
    name: `random-${seed}-${String(index).padStart(2, '0')}`,
    description: `${structure} skills, ${skillCount} skills${premium ? ' + premium' : ''}, capacity ≤ ${capacityMax}, handling CV ${handlingCv}, ${abandonment ? 'abandonment' : 'no abandonment'}`,
    horizonHours: 5,
    warmupHours: 1,
    load: round(uniform(random, RANDOM_LOAD_RANGE[0], RANDOM_LOAD_RANGE[1])),
    categories,
    agents,
    arrivals: {
      startHour: 8,
      ...(() => {
        const shape = profile(random);
        return shape === undefined ? {} : { profile: shape };
      })(),
    },
    heterogeneity: {
      agentSpeedCv: round(uniform(random, 0, 0.5)),
      agentCategorySpeedCv: round(uniform(random, 0, 0.4)),
    },
    predictions: {
      mode: 'learned',
      noiseCv: random.next() < 0.5 ? null : round(uniform(random, 0.3, 1)),
      historyPerCell: 20,
    },
  };
  // The same schema as a file: a generated scenario that would not load is a generator bug.
  return parseScenario(JSON.stringify(input), input.name);
}

/** The skill structure scenario `index` was drawn with. */
export function structureOf(index: number): SkillStructure {
  return SKILL_STRUCTURES[index % SKILL_STRUCTURES.length] ?? 'flexible';
}

/**
 * Draws `count` scenarios under `seed` and writes each to `directory` as YAML; returns their
 * names, paths and loads.
 */
export function writeRandomScenarios(
  seed: number,
  count: number,
  directory: string,
): { readonly name: string; readonly path: string; readonly load: number; readonly description: string }[] {
  mkdirSync(directory, { recursive: true });
  return Array.from({ length: count }, (_, index) => {
    const scenario = randomScenario(seed, index);
    const path = join(directory, `${scenario.name}.yaml`);
    const header = [
      `# Drawn by \`flowtune bench --random ${count} --seed ${seed}\` (scenario ${index}): ${scenario.description}.`,
      `# Re-run: npx flowtune simulate --scenario ${path} --policy flowtune --reps 4`,
      '',
    ].join('\n');
    writeFileSync(path, `${header}${stringify(scenario)}`);
    return { name: scenario.name, path, load: scenario.load, description: scenario.description };
  });
}
