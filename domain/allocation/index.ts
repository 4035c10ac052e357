export * from './forecast';
export * from './job';
export * from './queue-preference';
export * from './recommend';
export * from './staffing';
