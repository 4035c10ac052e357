import type { LocalRuntime } from '../runtime';

export interface LostItemDiagnosis {
  readonly itemId: string;
  readonly instance: unknown;
  readonly pendingWaits: readonly string[];
  readonly lastStates: readonly string[];
  readonly trail: readonly string[];
}

/** Everything the runtime holds about an item: instance record, open waits, last states, audit trail. */
export async function diagnose(runtime: LocalRuntime, itemId: string): Promise<LostItemDiagnosis> {
  const hasExecution = runtime.runner.hasExecution(itemId);
  const executionArn = hasExecution ? runtime.runner.describeExecution(itemId).executionArn : undefined;
  const { taskToken: _token, ...instance } = (await runtime.instance(itemId)) ?? { taskToken: undefined };
  return {
    itemId,
    instance,
    pendingWaits:
      executionArn === undefined
        ? []
        : runtime.tokens
            .pending({ executionArn })
            .map((wait) => `${wait.stateName} since ${new Date(wait.openedAt).toISOString()}`),
    lastStates: hasExecution
      ? runtime.runner.getExecutionHistory(itemId).map((event) => {
          const state = 'state' in event ? ` ${(event.state as { name?: string }).name ?? ''}` : '';
          const error = 'Error' in event ? ` ${String(event.Error)}` : '';
          return `${event.type}${state}${error}`;
        })
      : [],
    trail: (await runtime.auditTrail(itemId)).map((record) =>
      `${record.at} ${record.kind} ${record.actor} ${record.details ?? ''}`.slice(0, 400),
    ),
  };
}
