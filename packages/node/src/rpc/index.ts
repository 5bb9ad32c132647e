// JSON-RPC and WebSocket interface of the node.

export { type DispatchOptions, handlePayload, handleText, type JsonRpcResponse } from './dispatch.ts';
export { BLOB_ERR, ERROR_CATALOGUE, RPC_ERR, RpcFailure, toErrorObject } from './errors.ts';
export {
  RPC_METHOD_INDEX,
  RPC_METHODS,
  type RpcContext,
  type RpcMethodDef,
  type RpcTransport,
} from './methods.ts';
export { buildOpenRpc, RPC_API_VERSION } from './openrpc.ts';
export { RPC_DEFAULTS, type RpcServer, type RpcServerOptions, startRpcServer } from './server.ts';
export { type SubscriptionFilter, TOPICS, type Topic } from './subscriptions.ts';
