import {
  FUNCTIONS,
  PROCESS_INSTANCE,
  QUEUES,
  readDefinition,
  type StateMachineDefinition,
  substitute,
  TABLES,
} from '../lib/definitions';
import { localTableName, type TableNames } from './dynamodb-local';
import { LOCAL_EVENT_BUS_NAME, localFunctionArn, localQueueUrl } from './local-names';

/**
 * The local value of every ASL placeholder: function ARNs, table names, the bus name and the
 * dispatch queue URL, all derived from lib/definitions. Only the placeholders `machine` declares
 * are returned (substitute() refuses values the ASL does not use); one without a local value
 * throws, naming it, so a new placeholder cannot be forgotten here.
 */
export function localPlaceholderValues(
  tableNames: TableNames = {},
  machine: StateMachineDefinition = PROCESS_INSTANCE,
): Record<string, string> {
  const available: Record<string, string> = {
    EventBusName: LOCAL_EVENT_BUS_NAME,
    DispatchQueueUrl: localQueueUrl(QUEUES.dispatch),
  };
  for (const fn of Object.values(FUNCTIONS)) {
    if ('placeholder' in fn) available[fn.placeholder] = localFunctionArn(fn);
  }
  for (const table of TABLES) available[table.placeholder] = tableNames[table.id] ?? localTableName(table);
  const values: Record<string, string> = {};
  for (const placeholder of machine.placeholders) {
    const value = available[placeholder];
    if (value === undefined) {
      throw new Error(
        `No local value for ASL placeholder \${${placeholder}}; add one in local/process-definition.ts.`,
      );
    }
    values[placeholder] = value;
  }
  return values;
}

/**
 * The process-instance ASL with local names substituted, ready for the ASL runner.
 *
 * @example
 * const runner = new AslRunner({ definition: localProcessDefinition(tableNames), bindings });
 */
export function localProcessDefinition(tableNames: TableNames = {}): string {
  return substitute(readDefinition(PROCESS_INSTANCE), localPlaceholderValues(tableNames));
}
