export * from './api.ts';
export {
  AttestationGossipSchema,
  Attestations,
  DEFAULT_ATTESTATION_RETENTION_BLOCKS,
} from './attestations.ts';
export * from './bft.ts';
export * from './chain-store.ts';
export * from './engine.ts';
export * from './genesis-builder.ts';
export * from './logger.ts';
export * from './mempool.ts';
export * from './metrics.ts';
export * from './node.ts';
export * from './provider/index.ts';
export { DEFAULT_RPC_CLIENT_LIMITS, type RpcClientLimits } from './rpc/client-limits.ts';
