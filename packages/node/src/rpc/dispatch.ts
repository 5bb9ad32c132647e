// JSON-RPC 2.0 request handling shared by HTTP and WebSocket: envelope checks, batches,
// notifications, params validation against the method table, and error mapping.

import type { Logger } from 'pino';
import type { z } from 'zod';
import type { NodeApi } from '../api.ts';
import { RPC_ERR, type RpcErrorObject, RpcFailure, toErrorObject, toEthErrorObject } from './errors.ts';
import type { Json } from './json.ts';
import { RPC_METHOD_INDEX, type RpcContext, type RpcMethodDef } from './methods.ts';

export type JsonRpcId = string | number | null;
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId; result: Json }
  | { jsonrpc: '2.0'; id: JsonRpcId; error: RpcErrorObject };

export type Outcome = 'ok' | 'invalid' | 'chain_error' | 'internal_error' | 'limit' | 'not_found';

export type DispatchOptions = {
  api: NodeApi;
  ctx: RpcContext;
  maxBatch: number;
  logger?: Logger;
  /** Called once per request (also for notifications) for metrics. */
  observe?: (method: string, outcome: Outcome, seconds: number) => void;
};

export const UNKNOWN_METHOD_LABEL = '(unknown)';

export function errorResponse(id: JsonRpcId, code: number, message: string, data?: unknown): JsonRpcResponse {
  const error: RpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

/** Parses a body or message and answers it; undefined when nothing is to be sent back. */
export async function handleText(
  text: string,
  opts: DispatchOptions,
): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    opts.observe?.(UNKNOWN_METHOD_LABEL, 'invalid', 0);
    return errorResponse(null, RPC_ERR.PARSE_ERROR, `parse error: ${(err as Error).message}`);
  }
  return handlePayload(payload, opts);
}

export async function handlePayload(
  payload: unknown,
  opts: DispatchOptions,
): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  if (!Array.isArray(payload)) return handleOne(payload, opts);
  if (payload.length === 0)
    return errorResponse(null, RPC_ERR.INVALID_REQUEST, 'invalid request: empty batch');
  if (payload.length > opts.maxBatch) {
    return errorResponse(
      null,
      RPC_ERR.LIMIT_EXCEEDED,
      `batch of ${payload.length} requests exceeds the limit of ${opts.maxBatch}`,
    );
  }
  const answers = await Promise.all(payload.map((item) => handleOne(item, opts)));
  const responses = answers.filter((a): a is JsonRpcResponse => a !== undefined);
  return responses.length > 0 ? responses : undefined;
}

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

async function handleOne(req: unknown, opts: DispatchOptions): Promise<JsonRpcResponse | undefined> {
  const started = performance.now();
  const observe = (method: string, outcome: Outcome): void =>
    opts.observe?.(method, outcome, (performance.now() - started) / 1000);

  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    observe(UNKNOWN_METHOD_LABEL, 'invalid');
    return errorResponse(
      null,
      RPC_ERR.INVALID_REQUEST,
      'invalid request: expected a JSON-RPC request object',
    );
  }
  const r = req as Record<string, unknown>;
  const hasId = 'id' in r;
  const id = isValidId(r.id) ? r.id : null;
  const invalid = (message: string): JsonRpcResponse => {
    observe(UNKNOWN_METHOD_LABEL, 'invalid');
    return errorResponse(id, RPC_ERR.INVALID_REQUEST, `invalid request: ${message}`);
  };
  if (hasId && !isValidId(r.id)) return invalid('id must be a string, a number or null');
  if (r.jsonrpc !== '2.0') return invalid('jsonrpc must be "2.0"');
  if (typeof r.method !== 'string') return invalid('method must be a string');
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null)) {
    return invalid('params must be an object or an array');
  }

  const reply = (res: JsonRpcResponse): JsonRpcResponse | undefined => (hasId ? res : undefined);
  const method = RPC_METHOD_INDEX.get(r.method);
  if (!method) {
    observe(UNKNOWN_METHOD_LABEL, 'not_found');
    return reply(errorResponse(id, RPC_ERR.METHOD_NOT_FOUND, `method not found: ${r.method.slice(0, 64)}`));
  }

  try {
    const params = method.params.safeParse(normalizeParams(r.params, method));
    if (!params.success) throw invalidParams(params.error);
    const result = await method.handler(opts.api, params.data, opts.ctx);
    observe(method.name, 'ok');
    return reply({ jsonrpc: '2.0', id, result });
  } catch (err) {
    const { error, outcome } = method.ethErrors ? toEthErrorObject(err) : toErrorObject(err);
    if (outcome === 'internal_error') opts.logger?.error({ err, method: method.name }, 'rpc handler failed');
    observe(method.name, outcome);
    return reply({ jsonrpc: '2.0', id, error });
  }
}

/**
 * By-name params: an object, or a one-element array holding it; absent means {}. A method with
 * `positional` names (the eth_* methods) takes an array, mapped onto those names in order (a
 * missing or null trailing element is left out); a by-name object is accepted there too.
 */
function normalizeParams(params: unknown, method: Pick<RpcMethodDef, 'positional'>): unknown {
  if (params === undefined) return {};
  if (!Array.isArray(params)) return params;
  if (method.positional) {
    const names = method.positional;
    if (params.length > names.length) {
      throw new RpcFailure(
        RPC_ERR.INVALID_PARAMS,
        `invalid params: expected at most ${names.length} positional param(s) (${names.join(', ')}), got ${params.length}`,
      );
    }
    const out: Record<string, unknown> = {};
    params.forEach((value, i) => {
      if (value !== null && value !== undefined) out[names[i]!] = value;
    });
    return out;
  }
  if (params.length === 0) return {};
  if (
    params.length === 1 &&
    typeof params[0] === 'object' &&
    params[0] !== null &&
    !Array.isArray(params[0])
  ) {
    return params[0];
  }
  throw new RpcFailure(
    RPC_ERR.INVALID_PARAMS,
    'invalid params: params must be an object of named fields, or a one-element array holding it',
  );
}

function invalidParams(error: z.ZodError): RpcFailure {
  const issues = error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field(s): ${issue.keys.join(', ')}`;
    else if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined'))
      message = 'required';
    return { path: path || 'params', message };
  });
  const text = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new RpcFailure(RPC_ERR.INVALID_PARAMS, `invalid params: ${text}`, { issues });
}
