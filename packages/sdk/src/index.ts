// @aivm/sdk: typed client, subscriptions and wallet for AIVM nodes. Browser-safe: only global
// fetch and WebSocket, no Node built-ins.

export { verifyStateProof } from '@aivm/state/proof';
export { BLOB_CHUNK_BYTES, BLOB_UPLOAD_TYPES, blobId, blobUploadTypedData } from './blob-id.ts';
export {
  AivmClient,
  type AivmClientOptions,
  RpcError,
  RpcTimeoutError,
  TxDroppedError,
  type WaitForTxOptions,
  type WebSocketConstructor,
} from './client.ts';
export * from './inference.ts';
export { MalformedResponseError } from './parse.ts';
export * from './results.ts';
export type * from './types.ts';
export { type SendOptions, Wallet, type WalletOptions } from './wallet.ts';
