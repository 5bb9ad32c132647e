// JSON-RPC and WebSocket interface of the node.

export {
  clientKeyOf,
  DEFAULT_RPC_CLIENT_LIMITS,
  type RpcClientLimits,
  resolveRpcClientLimits,
} from './client-limits.ts';
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
export {
  RPC_DEFAULTS,
  type RpcServer,
  type RpcServerOptions,
  startRpcServer,
  WS_CLOSE_OVERLOAD,
  WS_CLOSE_SLOW_CONSUMER,
} from './server.ts';
export { type SubscriptionFilter, TOPICS, type Topic } from './subscriptions.ts';
