export * from './api.ts';
export * from './chain-store.ts';
export * from './engine.ts';
export * from './logger.ts';
export * from './mempool.ts';
export * from './metrics.ts';
export * from './node.ts';
