export * from './allocation';
export * from './events';
export * from './functions';
export * from './state-machines';
export * from './tables';
