/**
 * Typed client, subscriptions and wallet for AIVM nodes, with helpers to publish models and to
 * request, follow and verify inferences. Browser-safe: only global fetch and WebSocket, no Node
 * built-ins.
 *
 * @packageDocumentation
 */

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
export { DEV_MNEMONIC, type SendOptions, Wallet, type WalletOptions } from './wallet.ts';
