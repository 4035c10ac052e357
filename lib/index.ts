/**
 * The `flowtune` package: the Flowtune construct for a customer's own CDK app, the ready stack,
 * the capability constructs it composes, and the cdk-nag wiring it is checked with.
 *
 * @example
 * import { Flowtune, applyCompliancePacks } from 'flowtune';
 * const flowtune = new Flowtune(stack, 'Flowtune', { alarmTopic });
 * flowtune.grantPutEvents(producerRole);
 */
export * from './constructs/allocation';
export * from './constructs/capability-props';
export * from './constructs/connector';
export * from './constructs/event-ingest';
export * from './constructs/function-factory';
export * from './constructs/observability';
export * from './constructs/ops-api';
export * from './constructs/process-orchestration';
export * from './constructs/storage';
export * from './constructs/tuning';
export * from './flowtune';
export { FlowtuneStack, type FlowtuneStackProps } from './flowtune-stack';
export * from './nag';
