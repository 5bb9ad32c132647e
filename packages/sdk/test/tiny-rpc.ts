// A scripted JSON-RPC HTTP server for SDK unit tests: records every request, answers from handlers.

import { createServer, type Server } from 'node:http';

export type Recorded = { method: string; params: unknown; id: unknown; contentType: string | undefined };
export type Answer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };
export type Handler = (params: Record<string, unknown>) => Answer | Promise<Answer>;

export class TinyRpc {
  readonly requests: Recorded[] = [];
  handlers: Record<string, Handler> = {};
  /** When set, the next request is answered with this HTTP status and raw body. */
  rawReply: { status: number; body: string } | undefined;
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', async () => {
        const json = JSON.parse(body) as { id: unknown; method: string; params: Record<string, unknown> };
        this.requests.push({
          method: json.method,
          params: json.params,
          id: json.id,
          contentType: req.headers['content-type'],
        });
        if (this.rawReply) {
          const { status, body: raw } = this.rawReply;
          this.rawReply = undefined;
          res.writeHead(status, { 'content-type': 'application/json' }).end(raw);
          return;
        }
        const handler = this.handlers[json.method];
        const answer: Answer = handler
          ? await handler(json.params)
          : { error: { code: -32601, message: `method not found: ${json.method}` } };
        if (res.destroyed) return;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', id: json.id, ...answer }));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const addr = this.#server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this;
  }

  methods(): string[] {
    return this.requests.map((r) => r.method);
  }

  reset(): void {
    this.requests.length = 0;
    this.handlers = {};
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export const ok = (result: unknown): Answer => ({ result });
