// OpenRPC 1.2.6 document generated from the method table (params via zod 4's JSON Schema export).

import { z } from 'zod';
import { ERROR_CATALOGUE, RPC_ERR } from './errors.ts';
import type { RpcMethodDef } from './methods.ts';

export const RPC_API_VERSION = '0.1.0';

type JsonSchema = { [key: string]: unknown };
type ContentDescriptor = { name: string; description?: string; required?: boolean; schema: JsonSchema };

/** Protocol errors any method can answer with. */
const COMMON_ERRORS = [RPC_ERR.INVALID_PARAMS, RPC_ERR.INTERNAL_ERROR, RPC_ERR.LIMIT_EXCEEDED];

export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

/**
 * The top-level fields of a by-name params object, as OpenRPC content descriptors; for a method
 * with positional params, in the order of its `positional` names.
 */
export function paramDescriptors(method: RpcMethodDef): ContentDescriptor[] {
  const schema = jsonSchemaOf(method.params);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const entries = method.positional
    ? method.positional.map((name): [string, JsonSchema] => [name, properties[name] ?? {}])
    : Object.entries(properties);
  return entries.map(([name, prop]) => {
    const { description, ...rest } = prop;
    const d: ContentDescriptor = { name, required: required.has(name), schema: rest };
    if (typeof description === 'string') d.description = description;
    return d;
  });
}

export function errorsOf(method: RpcMethodDef): { code: number; message: string }[] {
  const codes = [...COMMON_ERRORS, ...method.errors];
  if (method.transports && !method.transports.includes('http')) codes.push(RPC_ERR.METHOD_NOT_SUPPORTED);
  return codes.map((code) => {
    const entry = ERROR_CATALOGUE.find((e) => e.code === code);
    return { code, message: entry?.message ?? 'error' };
  });
}

export function buildOpenRpc(methods: readonly RpcMethodDef[]): JsonSchema {
  return {
    openrpc: '1.2.6',
    info: {
      title: 'AIVM JSON-RPC',
      version: RPC_API_VERSION,
      description:
        'JSON-RPC 2.0 over HTTP POST / and WebSocket /ws. Params are by-name objects (the eth_*, net_* and web3_* methods take positional arrays, as Ethereum clients send them). Integers of 64 bits and more are decimal strings, bytes are 0x hex.',
    },
    methods: methods.map((m) => {
      const resultSchema = jsonSchemaOf(m.result.schema);
      return {
        name: m.name,
        description: m.description,
        paramStructure: m.positional ? 'by-position' : 'by-name',
        params: paramDescriptors(m),
        result: { name: m.result.name, description: m.result.description, schema: resultSchema },
        errors: errorsOf(m),
        ...(m.transports ? { 'x-transports': [...m.transports] } : {}),
      };
    }),
    components: {
      errors: Object.fromEntries(ERROR_CATALOGUE.map((e) => [e.name, { code: e.code, message: e.message }])),
    },
  };
}
