export * from './api';
export * from './bottleneck';
export * from './cost-model';
export * from './human-tasks';
export * from './metrics';
export * from './policy-proposal';
