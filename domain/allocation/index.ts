export * from './forecast';
export * from './recommend';
export * from './staffing';
