export * from './bounds';
export * from './erlang';
export * from './run-metrics';
export * from './stats';
