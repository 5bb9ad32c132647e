// The node's HTTP server: JSON-RPC 2.0 on POST /, WebSocket (same methods plus subscriptions) on
// /ws, Prometheus text on GET /metrics and a liveness check on GET /health. Bound to loopback
// unless told otherwise; bad input of any kind gets an error answer, never a crash. Each client
// (remote IP, client-limits.ts) holds at most its share of connections, subscriptions and uploads;
// notifications leave the commit path through one NotificationHub (subscriptions.ts). Given a
// staticDir, GET and HEAD requests for other paths are answered from it (AIVM Studio, static.ts).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { NodeApi } from '../api.ts';
import { clientKeyOf, type RpcClientLimits, RpcClients } from './client-limits.ts';
import { type DispatchOptions, errorResponse, handleText, type Outcome } from './dispatch.ts';
import { RPC_ERR } from './errors.ts';
import { type StaticFiles, staticFiles } from './static.ts';
import { ConnectionSubscriptions, NotificationHub } from './subscriptions.ts';

export type RpcServerOptions = {
  /** Interface to bind; default 127.0.0.1 (expose deliberately, e.g. '0.0.0.0'). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest HTTP body or WebSocket message; default 1 MiB. */
  maxBodyBytes?: number;
  /** Most requests in one batch; default 100. */
  maxBatch?: number;
  /** Most concurrent WebSocket connections, all clients together; default 256. */
  maxWsConnections?: number;
  /** Most subscriptions per WebSocket connection; default 64. */
  maxSubscriptionsPerConnection?: number;
  /**
   * What one client (remote IP address) may hold: connections, subscriptions, uploads; defaults in
   * DEFAULT_RPC_CLIENT_LIMITS. The node hands the same object to its blob uploads.
   */
  clientLimits?: Partial<RpcClientLimits>;
  /**
   * A connection with more unsent data than this when a burst of sends starts (or 4x this within a
   * burst) is closed as a slow consumer (close code 1008); default 4 MiB.
   */
  maxWsBufferedBytes?: number;
  /** Subscription notifications sent per turn of the event loop before yielding; default 512. */
  deliveriesPerTurn?: number;
  /**
   * Committed records waiting for delivery beyond which connections are shed (1013), the client
   * with the most subscriptions first; default 10 000.
   */
  maxNotificationBacklog?: number;
  /** Interval of WebSocket pings; a peer that misses one is dropped. Default 30 000, 0 disables. */
  wsPingIntervalMs?: number;
  /** Value of Access-Control-Allow-Origin for browser clients (e.g. '*'); no CORS headers when absent. */
  corsOrigin?: string;
  logger?: Logger;
  /** Registry to add the rpc metrics to and to serve on /metrics; a private one when absent. */
  metrics?: Registry;
  /**
   * A directory of static files (AIVM Studio's build) served on GET and HEAD: index.html at /, the
   * rest by path. JSON-RPC (POST /), /health, /metrics and /ws keep their meaning.
   */
  staticDir?: string;
};

export type RpcServer = {
  /** http://host:port */
  url: string;
  /** ws://host:port/ws */
  wsUrl: string;
  port: number;
  close(): Promise<void>;
};

export const RPC_DEFAULTS = {
  host: '127.0.0.1',
  maxBodyBytes: 1024 * 1024,
  maxBatch: 100,
  maxWsConnections: 256,
  maxSubscriptionsPerConnection: 64,
  maxWsBufferedBytes: 4 * 1024 * 1024,
  wsPingIntervalMs: 30_000,
} as const;

/** How much of an oversized body is read and discarded (so the client sees the answer) before hanging up. */
const DRAIN_FACTOR = 8;
/** Unsent WebSocket data allowed within one burst of sends, as a multiple of maxWsBufferedBytes. */
const BURST_FACTOR = 4;
/** WebSocket close code of a slow consumer (RFC 6455 1008, policy violation). */
export const WS_CLOSE_SLOW_CONSUMER = 1008;
/** WebSocket close code of a connection shed while notifications back up (RFC 6455 1013, try again later). */
export const WS_CLOSE_OVERLOAD = 1013;
/** How long a dropped connection gets to read its close frame before its socket is destroyed. */
const DROP_CLOSE_MS = 1_000;

type RpcMetrics = {
  requests: Counter<'method' | 'outcome'>;
  duration: Histogram<'method'>;
  wsConnections: Gauge;
  subscriptions: Gauge;
  slowConsumers: Counter;
  overloadDrops: Counter;
  oversized: Counter;
};

function metric<T>(registry: Registry, name: string, make: () => T): T {
  // Several servers may share one registry (tests, restarts); prom-client refuses duplicates.
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function createMetrics(registry: Registry): RpcMetrics {
  const registers = [registry];
  return {
    requests: metric(
      registry,
      'aivm_rpc_requests_total',
      () =>
        new Counter({
          name: 'aivm_rpc_requests_total',
          help: 'JSON-RPC requests by method and outcome (ok, invalid, chain_error, internal_error, limit, not_found)',
          labelNames: ['method', 'outcome'] as const,
          registers,
        }),
    ),
    duration: metric(
      registry,
      'aivm_rpc_request_duration_seconds',
      () =>
        new Histogram({
          name: 'aivm_rpc_request_duration_seconds',
          help: 'Time to answer one JSON-RPC request',
          labelNames: ['method'] as const,
          buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
          registers,
        }),
    ),
    wsConnections: metric(
      registry,
      'aivm_rpc_ws_connections',
      () => new Gauge({ name: 'aivm_rpc_ws_connections', help: 'Open WebSocket connections', registers }),
    ),
    subscriptions: metric(
      registry,
      'aivm_rpc_subscriptions',
      () => new Gauge({ name: 'aivm_rpc_subscriptions', help: 'Active subscriptions', registers }),
    ),
    slowConsumers: metric(
      registry,
      'aivm_rpc_ws_slow_consumer_disconnects_total',
      () =>
        new Counter({
          name: 'aivm_rpc_ws_slow_consumer_disconnects_total',
          help: 'WebSocket connections closed because their unsent data exceeded the limit',
          registers,
        }),
    ),
    overloadDrops: metric(
      registry,
      'aivm_rpc_ws_overload_disconnects_total',
      () =>
        new Counter({
          name: 'aivm_rpc_ws_overload_disconnects_total',
          help: 'WebSocket connections shed because undelivered notifications exceeded the backlog limit',
          registers,
        }),
    ),
    oversized: metric(
      registry,
      'aivm_rpc_oversized_requests_total',
      () =>
        new Counter({
          name: 'aivm_rpc_oversized_requests_total',
          help: 'HTTP bodies refused for exceeding the size limit',
          registers,
        }),
    ),
  };
}

/** A WebSocket connection as the load shedding sees it. */
type OpenConnection = {
  client: string;
  subscriptions: ConnectionSubscriptions;
  drop(code: number, reason: string): void;
};

type BodyResult = { ok: true; text: string } | { ok: false };

/**
 * Reads a body up to `limit` bytes. Past it the rest is read and discarded, so the client gets to
 * read the answer, up to DRAIN_FACTOR times the limit; beyond that the answer goes out at once.
 */
function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit * DRAIN_FACTOR) {
      req.resume();
      return settle({ ok: false });
    }
    let tooLarge = Number.isFinite(declared) && declared > limit;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (size > limit * DRAIN_FACTOR) settle({ ok: false });
    });
    req.on('end', () =>
      settle(tooLarge ? { ok: false } : { ok: true, text: Buffer.concat(chunks).toString('utf8') }),
    );
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    req.on('error', fail);
    req.on('close', () => {
      if (!req.complete) fail(new Error('request aborted'));
    });
  });
}

function rawToText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startRpcServer(api: NodeApi, opts: RpcServerOptions): Promise<RpcServer> {
  const host = opts.host ?? RPC_DEFAULTS.host;
  const maxBodyBytes = opts.maxBodyBytes ?? RPC_DEFAULTS.maxBodyBytes;
  const maxBatch = opts.maxBatch ?? RPC_DEFAULTS.maxBatch;
  const maxWsConnections = opts.maxWsConnections ?? RPC_DEFAULTS.maxWsConnections;
  const maxSubscriptions = opts.maxSubscriptionsPerConnection ?? RPC_DEFAULTS.maxSubscriptionsPerConnection;
  const maxBuffered = opts.maxWsBufferedBytes ?? RPC_DEFAULTS.maxWsBufferedBytes;
  const pingIntervalMs = opts.wsPingIntervalMs ?? RPC_DEFAULTS.wsPingIntervalMs;
  const logger = opts.logger;
  const registry = opts.metrics ?? new Registry();
  const metrics = createMetrics(registry);
  const clients = new RpcClients(opts.clientLimits);
  const files: StaticFiles | undefined = opts.staticDir ? await staticFiles(opts.staticDir) : undefined;
  /** Open connections with their subscriptions, for shedding load when notifications back up. */
  const open = new Set<OpenConnection>();
  // More subscriptions than the node can serve: the client holding the most gives up its connection
  // with the most, so a flood from one client is shed before anyone else's subscriptions.
  const shed = (backlog: number): void => {
    let victim: OpenConnection | undefined;
    for (const c of open) {
      if (!victim) victim = c;
      const [a, b] = [clients.subscriptions(c.client), clients.subscriptions(victim.client)];
      if (a > b || (a === b && c.subscriptions.size > victim.subscriptions.size)) victim = c;
    }
    if (!victim || victim.subscriptions.size === 0) return;
    metrics.overloadDrops.inc();
    logger?.warn({ client: victim.client, backlog }, 'rpc ws connection shed: notification backlog');
    victim.drop(
      WS_CLOSE_OVERLOAD,
      `notification backlog of ${backlog} records: connection shed, retry later`,
    );
  };
  const hub = new NotificationHub(api, {
    deliveriesPerTurn: opts.deliveriesPerTurn,
    maxBacklog: opts.maxNotificationBacklog,
    onOverload: shed,
    onError: (err) => logger?.error({ err }, 'rpc subscription notification failed'),
  });

  const observe = (method: string, outcome: Outcome, seconds: number): void => {
    metrics.requests.inc({ method, outcome });
    metrics.duration.observe({ method }, seconds);
  };

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    extra?: Record<string, string>,
  ): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...extra,
    });
    res.end(text);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (opts.corsOrigin) {
      res.setHeader('access-control-allow-origin', opts.corsOrigin);
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader('access-control-allow-headers', 'content-type');
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'OPTIONS') {
      // A preflight: a browser may skip the next ones for this long (it caps the value, 2 h in Chromium).
      if (opts.corsOrigin) res.setHeader('access-control-max-age', '7200');
      res.writeHead(204).end();
      return;
    }
    if (path === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      try {
        const s = api.status();
        sendJson(res, 200, {
          status: 'ok',
          chainId: s.chainId.toString(),
          height: s.height.toString(),
          headHash: s.headHash,
        });
      } catch (err) {
        logger?.error({ err }, 'health check failed');
        sendJson(res, 503, { status: 'error' });
      }
      return;
    }
    if (path === '/metrics' && req.method === 'GET') {
      const text = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      return;
    }
    if (files && (req.method === 'GET' || req.method === 'HEAD') && path !== '/ws') {
      if (await files.serve(req, res, path)) return;
    }
    if (path !== '/') {
      sendJson(res, 404, {
        error: `not found: use POST / (JSON-RPC), GET /health, GET /metrics or WebSocket /ws${files ? ', or open / (AIVM Studio)' : ''}`,
      });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(
        res,
        405,
        errorResponse(null, RPC_ERR.INVALID_REQUEST, 'JSON-RPC requests are sent with POST'),
        {
          allow: 'POST',
        },
      );
      return;
    }
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) {
      metrics.oversized.inc();
      sendJson(
        res,
        413,
        errorResponse(
          null,
          RPC_ERR.LIMIT_EXCEEDED,
          `request body exceeds the limit of ${maxBodyBytes} bytes`,
        ),
        { connection: 'close' },
      );
      return;
    }
    const client = clientKeyOf(req.socket);
    const answer = await handleText(body.text, {
      api,
      ctx: { transport: 'http', client },
      maxBatch,
      logger,
      observe,
    });
    if (answer === undefined) res.writeHead(204).end();
    else sendJson(res, 200, answer);
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      logger?.warn({ err }, 'rpc http request failed');
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, errorResponse(null, RPC_ERR.INTERNAL_ERROR, 'internal error'));
      } else {
        res.destroy();
      }
    });
  });
  server.on('clientError', (err, socket) => {
    logger?.debug({ err }, 'rpc http client error');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  // --- WebSocket ---------------------------------------------------------------------------
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBodyBytes });
  const alive = new WeakMap<WebSocket, boolean>();
  const upgraded = new WeakSet<Duplex>();
  let upgrading = 0;

  const rejectUpgrade = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger?.debug({ err }, 'rpc ws socket error'));
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ws') return rejectUpgrade(socket, '404 Not Found');
    // Handshakes still in progress count too, or a burst of them could overshoot the limit.
    if (wss.clients.size + upgrading >= maxWsConnections) {
      logger?.warn({ limit: maxWsConnections }, 'rpc ws connection refused: limit reached');
      return rejectUpgrade(socket, '503 Service Unavailable');
    }
    const client = clientKeyOf(socket as Socket);
    if (!clients.tryOpenConnection(client)) {
      const { maxConnectionsPerClient } = clients.limits;
      logger?.warn(
        { client, limit: maxConnectionsPerClient },
        'rpc ws connection refused: client limit reached',
      );
      const body = JSON.stringify(
        errorResponse(
          null,
          RPC_ERR.LIMIT_EXCEEDED,
          `connection limit reached (${maxConnectionsPerClient} per client ${client})`,
        ),
      );
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    upgrading++;
    socket.once('close', () => {
      if (!upgraded.has(socket)) upgrading--;
      clients.closeConnection(client);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded.add(socket);
      upgrading--;
      onConnection(ws, client);
    });
  });

  const onConnection = (ws: WebSocket, client: string): void => {
    metrics.wsConnections.inc();
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));

    // Writes finished synchronously are only subtracted from bufferedAmount on the next tick, so
    // within one burst (a block's worth of notifications) the count runs ahead of reality. The
    // limit applies to what is still unsent when a burst starts; within a burst, to 4x the limit.
    let burstOpen = false;
    const send = (text: string): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      let limit = maxBuffered * BURST_FACTOR;
      if (!burstOpen) {
        burstOpen = true;
        limit = maxBuffered;
        setImmediate(() => {
          burstOpen = false;
        });
      }
      if (ws.bufferedAmount > limit) {
        const bufferedBytes = ws.bufferedAmount;
        metrics.slowConsumers.inc();
        logger?.warn({ client, bufferedBytes }, 'rpc ws slow consumer disconnected');
        drop(WS_CLOSE_SLOW_CONSUMER, `slow consumer: ${bufferedBytes} bytes unsent, limit ${limit}`);
        return;
      }
      ws.send(text);
    };
    // Frees the subscriptions now; the close frame waits behind the unsent data, so a peer that
    // does not read loses its socket shortly after.
    const drop = (code: number, reason: string): void => {
      open.delete(entry);
      subscriptions.closeAll();
      ws.close(code, reason);
      setTimeout(() => ws.terminate(), DROP_CLOSE_MS).unref();
    };
    const subscriptions = new ConnectionSubscriptions({
      hub,
      client,
      clients,
      maxSubscriptions,
      send,
      onCountChange: (delta) => metrics.subscriptions.inc(delta),
    });
    const entry = { client, subscriptions, drop };
    open.add(entry);
    const dispatch: DispatchOptions = {
      api,
      ctx: { transport: 'ws', client, subscriptions },
      maxBatch,
      logger,
      observe,
    };

    ws.on('message', (data) => {
      handleText(rawToText(data), dispatch)
        .then((answer) => {
          if (answer !== undefined) send(JSON.stringify(answer));
        })
        .catch((err: unknown) => logger?.error({ err }, 'rpc ws message failed'));
    });
    ws.on('error', (err) => logger?.debug({ err }, 'rpc ws error'));
    ws.on('close', () => {
      open.delete(entry);
      subscriptions.closeAll();
      metrics.wsConnections.dec();
    });
  };

  const pinger =
    pingIntervalMs > 0
      ? setInterval(() => {
          for (const ws of wss.clients) {
            if (!alive.get(ws)) {
              ws.terminate();
              continue;
            }
            alive.set(ws, false);
            ws.ping();
          }
        }, pingIntervalMs)
      : undefined;
  pinger?.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger?.error({ err }, 'rpc server error'));

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const base = `${urlHost(host)}:${port}`;
  logger?.info({ host, port }, 'rpc server listening');

  let closing: Promise<void> | undefined;
  return {
    url: `http://${base}`,
    wsUrl: `ws://${base}/ws`,
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        if (pinger) clearInterval(pinger);
        hub.close();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
