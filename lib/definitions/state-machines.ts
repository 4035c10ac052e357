import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTIONS } from './functions';
import { AUDIT_TABLE, FEATURES_TABLE, INSTANCES_TABLE } from './tables';

/** Project root, resolved from this file so CDK, the local runtime and tests agree. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StateMachineDefinition {
  readonly id: string;
  readonly file: string;
  /** Every `${Placeholder}` the ASL uses; CDK fills them with tokens, the local runtime with local names. */
  readonly placeholders: readonly string[];
  /** Top-level execution limit, mirrored in the ASL's TimeoutSeconds. */
  readonly timeoutDays: number;
}

export const PROCESS_INSTANCE = {
  id: 'ProcessInstance',
  file: 'statemachines/process-instance.asl.json',
  placeholders: [
    FUNCTIONS.validate.placeholder,
    FUNCTIONS.score.placeholder,
    FUNCTIONS.park.placeholder,
    FUNCTIONS.recordOutcome.placeholder,
    AUDIT_TABLE.placeholder,
    INSTANCES_TABLE.placeholder,
    FEATURES_TABLE.placeholder,
    'EventBusName',
    'DispatchQueueUrl',
  ],
  timeoutDays: 30,
} as const satisfies StateMachineDefinition;

/** The raw ASL text with its `${Placeholder}` markers intact. */
export function readDefinition(definition: StateMachineDefinition): string {
  return readFileSync(join(PROJECT_ROOT, definition.file), 'utf8');
}

/**
 * Replaces every `${Placeholder}`; throws naming any placeholder left without a value or a
 * value given for a placeholder the ASL does not use, so a rename cannot slip through.
 */
export function substitute(asl: string, values: Readonly<Record<string, string>>): string {
  const used = new Set([...asl.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1] as string));
  const missing = [...used].filter((name) => !(name in values));
  if (missing.length > 0) throw new Error(`ASL placeholders without a value: ${missing.join(', ')}`);
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length > 0)
    throw new Error(`Values given for placeholders the ASL does not use: ${unused.join(', ')}`);
  return asl.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name: string) => values[name] as string);
}
