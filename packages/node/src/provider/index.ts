export * from './exec.ts';
export * from './key-lru.ts';
export * from './policy.ts';
export * from './provider.ts';
