export * from './codec.ts';
export * from './schema.ts';
