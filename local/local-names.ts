import type { FunctionDefinition, QueueDefinition, StateMachineDefinition } from '../lib/definitions';

/**
 * Names and ARNs of the local stand-ins for AWS resources. They have the shapes AWS uses, so the
 * ASL validator, the handlers' env parsing and anything that splits an ARN behave as deployed.
 */

/** The account id LocalStack-style emulators use; never a real account. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_EVENT_BUS_NAME = 'flowtune-local';

/** `arn:aws:lambda:us-east-1:000000000000:function:flowtune-local-<Id>` */
export function localFunctionArn(fn: Pick<FunctionDefinition, 'id'>): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:flowtune-local-${fn.id}`;
}

/** The queue name; FIFO queues end in `.fifo`, as SQS requires. */
export function localQueueName(queue: Pick<QueueDefinition, 'id' | 'fifo'>): string {
  return queue.fifo ? `${queue.id}.fifo` : queue.id;
}

export function localQueueUrl(queue: Pick<QueueDefinition, 'id' | 'fifo'>): string {
  return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT}/${localQueueName(queue)}`;
}

export function localQueueArn(queue: Pick<QueueDefinition, 'id' | 'fifo'>): string {
  return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${localQueueName(queue)}`;
}

export function localStateMachineArn(machine: Pick<StateMachineDefinition, 'id'> | string): string {
  const id = typeof machine === 'string' ? machine : machine.id;
  return `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${id}`;
}

/** Execution ARN as Step Functions builds it: the state machine's ARN with `execution:` and the name. */
export function localExecutionArn(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

export function localEventBusArn(busName = LOCAL_EVENT_BUS_NAME): string {
  return `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${busName}`;
}
