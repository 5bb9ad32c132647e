export * from './exec.ts';
export * from './provider.ts';
