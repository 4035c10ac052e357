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
    FUNCTIONS.planWait.placeholder,
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

const PLACEHOLDER = /^\$\{([A-Za-z0-9]+)\}$/;
const OPTIMISED_DYNAMODB = 'arn:aws:states:::dynamodb:';
const SDK_DYNAMODB = 'arn:aws:states:::aws-sdk:dynamodb:';
/** IAM action of each TransactWriteItems entry: the transaction has no IAM action of its own. */
const TRANSACT_ITEM_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

type AslNode = Readonly<Record<string, unknown>>;

const isNode = (value: unknown): value is AslNode =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function tablePlaceholder(state: string, parameters: unknown): string {
  const tableName = isNode(parameters) ? parameters.TableName : undefined;
  const placeholder = typeof tableName === 'string' ? PLACEHOLDER.exec(tableName)?.[1] : undefined;
  if (placeholder === undefined) {
    throw new Error(
      `Task "${state}": TableName must be a \${Placeholder} of a table definition, got ${JSON.stringify(tableName)}; a path or a literal name cannot be granted precisely.`,
    );
  }
  return placeholder;
}

function* taskStates(states: unknown): Generator<[string, AslNode]> {
  if (!isNode(states)) return;
  for (const [name, state] of Object.entries(states)) {
    if (!isNode(state)) continue;
    if (state.Type === 'Task') yield [name, state];
    for (const branch of Array.isArray(state.Branches) ? state.Branches : []) {
      if (isNode(branch)) yield* taskStates(branch.States);
    }
    for (const processor of [state.ItemProcessor, state.Iterator]) {
      if (isNode(processor)) yield* taskStates(processor.States);
    }
  }
}

/**
 * The IAM actions the ASL's DynamoDB tasks need, by table placeholder: the optimised
 * integrations (`dynamodb:putItem` → `dynamodb:PutItem`) and the AWS SDK ones, where a
 * `transactWriteItems` needs the action of each of its items on that item's table (DynamoDB
 * authorises a transaction's Update as `dynamodb:UpdateItem`, and so on).
 *
 * @example
 * dynamoDbActionsByPlaceholder(readDefinition(PROCESS_INSTANCE)).get('InstancesTableName');
 * // ['dynamodb:UpdateItem']
 */
export function dynamoDbActionsByPlaceholder(asl: string): ReadonlyMap<string, readonly string[]> {
  const needed = new Map<string, Set<string>>();
  const need = (placeholder: string, action: string) => {
    const actions = needed.get(placeholder) ?? new Set<string>();
    actions.add(action);
    needed.set(placeholder, actions);
  };
  const parsed: unknown = JSON.parse(asl);
  for (const [name, state] of taskStates(isNode(parsed) ? parsed.States : undefined)) {
    const resource = typeof state.Resource === 'string' ? state.Resource : '';
    const api = resource.startsWith(OPTIMISED_DYNAMODB)
      ? resource.slice(OPTIMISED_DYNAMODB.length)
      : resource.startsWith(SDK_DYNAMODB)
        ? resource.slice(SDK_DYNAMODB.length)
        : undefined;
    if (api === undefined) continue;
    if (api !== 'transactWriteItems') {
      need(tablePlaceholder(name, state.Parameters), `dynamodb:${api[0]?.toUpperCase()}${api.slice(1)}`);
      continue;
    }
    const items = isNode(state.Parameters) ? state.Parameters.TransactItems : undefined;
    for (const item of Array.isArray(items) ? items : []) {
      for (const [kind, action] of Object.entries(isNode(item) ? item : {})) {
        const iamAction = TRANSACT_ITEM_ACTIONS[kind];
        if (iamAction === undefined) throw new Error(`Task "${name}": unknown TransactItems action ${kind}`);
        need(tablePlaceholder(name, action), iamAction);
      }
    }
  }
  return new Map([...needed].map(([placeholder, actions]) => [placeholder, [...actions].sort()]));
}
