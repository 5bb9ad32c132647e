// Renders docs/rpc.md from the method table. Run `node packages/node/src/rpc/docs.ts --write`
// after changing a method; a test fails while the file and the table disagree.

import { writeFileSync } from 'node:fs';
import { ERROR_CATALOGUE } from './errors.ts';
import { RPC_METHODS, type RpcMethodDef } from './methods.ts';
import { errorsOf, jsonSchemaOf, paramDescriptors } from './openrpc.ts';

export const RPC_DOC_PATH = new URL('../../../../docs/rpc.md', import.meta.url);

type JsonSchema = { [key: string]: unknown };

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A Markdown table with padded columns (the layout `biome format` gives, so formatting is a no-op). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** A short human form of a JSON Schema: `string matching ^0x...$`, `a | b`, `array of ...`. */
export function typeSummary(schema: JsonSchema): string {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeSummary).join(' or ');
  if (Array.isArray(schema.enum))
    return (schema.enum as unknown[]).map((v) => JSON.stringify(v)).join(' or ');
  switch (schema.type) {
    case 'string': {
      const parts = ['string'];
      if (typeof schema.pattern === 'string') parts.push(`\`${schema.pattern}\``);
      if (typeof schema.maxLength === 'number') parts.push(`(max ${schema.maxLength} chars)`);
      return parts.join(' ');
    }
    case 'array':
      return schema.items ? `array of ${typeSummary(schema.items as JsonSchema)}` : 'array';
    case 'object':
      return 'object';
    case 'integer':
    case 'number':
    case 'boolean':
    case 'null':
      return schema.type;
    default:
      return 'any JSON';
  }
}

function resultFields(schema: JsonSchema): [string, JsonSchema, boolean][] | undefined {
  const objectOf = (s: JsonSchema): JsonSchema | undefined =>
    s.type === 'object' && s.properties ? s : undefined;
  let obj = objectOf(schema);
  if (!obj && Array.isArray(schema.anyOf)) {
    obj = (schema.anyOf as JsonSchema[]).map(objectOf).find((s) => s !== undefined);
  }
  if (!obj) return undefined;
  const required = new Set((obj.required ?? []) as string[]);
  return Object.entries(obj.properties as Record<string, JsonSchema>).map(([k, v]) => [
    k,
    v,
    required.has(k),
  ]);
}

function renderMethod(m: RpcMethodDef): string {
  const lines: string[] = [`## ${m.name}`, '', m.description, ''];
  if (m.transports) lines.push(`Transports: ${m.transports.join(', ')} only.`, '');
  const params = paramDescriptors(m);
  if (params.length === 0) {
    lines.push('**Params:** none.', '');
  } else {
    const rows = params.map((p) => [
      `\`${p.name}\``,
      cell(typeSummary(p.schema)),
      p.required ? 'yes' : 'no',
      cell(p.description ?? ''),
    ]);
    const structure = m.positional ? 'by position, in this order' : 'by name';
    lines.push(
      `**Params** (${structure}):`,
      '',
      ...table(['name', 'type', 'required', 'description'], rows),
      '',
    );
  }
  const resultSchema = jsonSchemaOf(m.result.schema);
  lines.push(`**Result** \`${m.result.name}\`: ${m.result.description}.`, '');
  const fields = m.name === 'rpc.discover' ? undefined : resultFields(resultSchema);
  if (fields) {
    const rows = fields.map(([name, schema, required]) => {
      // A described scalar reads better by its description than by its pattern.
      const type =
        typeof schema.description === 'string'
          ? schema.type === 'string'
            ? schema.description
            : `${typeSummary(schema)} (${schema.description})`
          : typeSummary(schema);
      return [`\`${name}\`${required ? '' : ' (optional)'}`, cell(type)];
    });
    lines.push(...table(['field', 'type'], rows), '');
  } else if (m.name !== 'rpc.discover') {
    lines.push(`Type: ${typeSummary(resultSchema)}.`, '');
  }
  lines.push(
    `**Errors:** ${errorsOf(m)
      .map((e) => `\`${e.code}\``)
      .join(', ')}.`,
    '',
  );
  const exampleParams = m.positional
    ? m.positional.filter((name) => name in m.example).map((name) => m.example[name])
    : m.example;
  const request = { jsonrpc: '2.0', id: 1, method: m.name, params: exampleParams };
  lines.push('**Example:**', '', '```json', JSON.stringify(request, null, 2), '```', '');
  return lines.join('\n');
}

export function renderRpcMarkdown(methods: readonly RpcMethodDef[] = RPC_METHODS): string {
  const out: string[] = [
    '# AIVM JSON-RPC',
    '',
    '<!-- Generated from packages/node/src/rpc/methods.ts by `node packages/node/src/rpc/docs.ts --write`. Do not edit by hand. -->',
    '',
    'JSON-RPC 2.0 over HTTP (`POST /`) and WebSocket (`/ws`) on the same port (default bind 127.0.0.1).',
    'The same document as OpenRPC 1.2.6: call `rpc.discover`.',
    '',
    '- Params are by name: an object, or a one-element array holding that object. The Ethereum methods',
    '  (`eth_*`, `net_version`, `web3_clientVersion`; docs/wallets.md) take positional arrays, as wallets send',
    "  them, and answer Ethereum hex quantities; their refusals are `-32000` with the chain's ERR code in",
    '  `data.code`.',
    '- Integers of 64 bits and more (heights, nonces, gas, wei amounts) are decimal strings; in params a',
    '  JSON number is also accepted when it is a safe integer.',
    '- Bytes and hashes are `0x` hex; addresses are EIP-55 (all lower case is accepted too).',
    '- Batches: up to 100 requests per array (server option `maxBatch`). Requests without `id` are',
    '  notifications and get no answer.',
    '- The HTTP body (and one WebSocket message) is at most 1 MiB (option `maxBodyBytes`); a larger body is',
    '  answered with HTTP 413 and error `-32005`.',
    '- `GET /health` answers 200 with `{ status, chainId, height, headHash }`; `GET /metrics` serves',
    '  Prometheus text (`aivm_rpc_requests_total{method,outcome}`, `aivm_rpc_request_duration_seconds`, ...).',
    '',
    '## Subscriptions (WebSocket)',
    '',
    '`aivm_subscribe` returns a subscription id; the node then sends notifications without `id`:',
    '',
    '```json',
    JSON.stringify(
      { jsonrpc: '2.0', method: 'aivm_subscription', params: { subscription: '0x…', result: {} } },
      null,
      2,
    ),
    '```',
    '',
    ...table(
      ['topic', 'filter', 'result'],
      [
        ['`newBlocks`', 'none', '`{ hash, height, header }`'],
        ['`txResults`', '`txHash`', '`{ hash, height, index, receipt }`'],
        [
          '`events`',
          '`module`, `type`, `txHash`',
          '`{ module, type, attributes, height, txHash }` (`txHash` null for block-hook events)',
        ],
      ],
    ),
    '',
    'Subscriptions end with `aivm_unsubscribe` or when the socket closes. A connection that does not read',
    'its notifications fast enough (unsent data above 4 MiB) is closed.',
    '',
    '## Errors',
    '',
    'Chain errors keep the stable codes of `ERR` in `@aivm/chain`; the message says what to fix.',
    '',
    ...table(
      ['code', 'name', 'meaning'],
      ERROR_CATALOGUE.map((e) => [`\`${e.code}\``, e.name, cell(e.message)]),
    ),
    '',
    '## Methods',
    '',
    ...methods.map((m) => `- [\`${m.name}\`](#${m.name.replaceAll('.', '').toLowerCase()})`),
    '',
    ...methods.map(renderMethod),
  ];
  return `${out.join('\n').trimEnd()}\n`;
}

if (import.meta.main && process.argv.includes('--write')) {
  writeFileSync(RPC_DOC_PATH, renderRpcMarkdown());
  console.log(`wrote ${RPC_DOC_PATH.pathname}`);
}
