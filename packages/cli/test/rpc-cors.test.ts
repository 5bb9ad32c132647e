// `--rpc-cors`: what a web page on another origin needs from the JSON-RPC. The devnet answers with
// Access-Control-Allow-Origin * by default (a local dev chain whose keys are public) and answers a
// preflight for a JSON POST; `--no-rpc-cors` turns that off; a plain `aivm start` sends no CORS
// headers unless given `--rpc-cors <origin>`, which it checks is an origin. Real processes, raw
// HTTP as a browser sends it.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningNode, runAivm, startAivm, tempDir } from './helpers.ts';

const PAGE = 'http://localhost:8080';
const env = { AIVM_VALIDATOR_PASSWORD: 'rpc-cors-test' };

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** One HTTP request as a page of origin PAGE makes it (node:http: the Origin header goes as given). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { origin: PAGE, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The POST a page's fetch of aivm_status sends. */
function postStatus(url: string): Promise<Answer> {
  return send(
    url,
    'POST',
    { 'content-type': 'application/json' },
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'aivm_status', params: {} }),
  );
}

/** The preflight a browser sends before that POST (its content-type is not a simple one). */
function preflight(url: string): Promise<Answer> {
  return send(url, 'OPTIONS', {
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'content-type',
  });
}

/** The header names a comma-separated CORS header lists, lower case. */
function listed(value: string | string[] | undefined): string[] {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

function assertNoCors(a: Answer, what: string): void {
  for (const h of CORS_HEADERS) assert.equal(a.headers[h], undefined, `${what}: ${h}`);
}

describe('JSON-RPC CORS (--rpc-cors)', { timeout: 120_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const running: RunningNode[] = [];
  const start = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const node = await startAivm([...args, '--rpc-port', '0', '--log-level', 'warn'], extraEnv);
    running.push(node);
    return node;
  };
  const stop = async (node: RunningNode) => {
    assert.equal(await node.stop(), 0, node.stderr());
  };

  before(async () => {
    dir = await tempDir('aivm-rpc-cors-');
    const init = await runAivm(['init', '--home', join(dir.path, 'node'), '--chain-id', '4244'], env);
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    for (const node of running) await node.stop();
    await dir.remove();
  });

  it('the devnet lets a page of any origin call it, preflight included', async () => {
    const node = await start(['devnet', '--home', join(dir.path, 'devnet'), '--no-provider']);
    assert.equal(node.info.corsOrigin, '*');

    const pre = await preflight(node.rpcUrl);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    assert.ok(
      listed(pre.headers['access-control-allow-methods']).includes('post'),
      JSON.stringify(pre.headers),
    );
    assert.ok(listed(pre.headers['access-control-allow-headers']).includes('content-type'));
    assert.equal(pre.headers['access-control-max-age'], '7200');

    const post = await postStatus(node.rpcUrl);
    assert.equal(post.status, 200);
    assert.equal(post.headers['access-control-allow-origin'], '*');
    assert.equal((JSON.parse(post.body) as { result: { chainId: string } }).result.chainId, '7331');

    // The other endpoints a page may read carry it too.
    const health = await send(`${node.rpcUrl}/health`, 'GET', {});
    assert.equal(health.status, 200);
    assert.equal(health.headers['access-control-allow-origin'], '*');
    await stop(node);
  });

  it('devnet --no-rpc-cors sends no CORS headers', async () => {
    const node = await start([
      'devnet',
      '--home',
      join(dir.path, 'devnet'),
      '--no-provider',
      '--no-rpc-cors',
    ]);
    assert.equal(node.info.corsOrigin, undefined);
    assertNoCors(await preflight(node.rpcUrl), 'preflight');
    const post = await postStatus(node.rpcUrl);
    assert.equal(post.status, 200);
    assertNoCors(post, 'POST');
    await stop(node);
  });

  it('aivm start sends no CORS headers without the flag', async () => {
    const node = await start(['start', '--home', join(dir.path, 'node')], env);
    assert.equal(node.info.corsOrigin, undefined);
    assertNoCors(await preflight(node.rpcUrl), 'preflight');
    const post = await postStatus(node.rpcUrl);
    assert.equal(post.status, 200);
    assert.equal((JSON.parse(post.body) as { result: { chainId: string } }).result.chainId, '4244');
    assertNoCors(post, 'POST');
    await stop(node);
  });

  it('aivm start --rpc-cors <origin> allows that origin', async () => {
    const node = await start(['start', '--home', join(dir.path, 'node'), '--rpc-cors', PAGE], env);
    assert.equal(node.info.corsOrigin, PAGE);
    const pre = await preflight(node.rpcUrl);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], PAGE);
    assert.ok(listed(pre.headers['access-control-allow-headers']).includes('content-type'));
    const post = await postStatus(node.rpcUrl);
    assert.equal(post.status, 200);
    assert.equal(post.headers['access-control-allow-origin'], PAGE);
    await stop(node);
  });

  it('refuses a value that is not an origin, saying what it expects', async () => {
    const withPath = await runAivm(
      ['start', '--home', join(dir.path, 'node'), '--rpc-port', '0', '--rpc-cors', `${PAGE}/`],
      env,
    );
    assert.equal(withPath.code, 1, withPath.stderr);
    assert.match(
      withPath.stderr,
      /--rpc-cors expects \* or an origin such as http:\/\/localhost:8080 \(scheme, host and port, no path\), got "http:\/\/localhost:8080\/"; did you mean http:\/\/localhost:8080\?/,
    );
    const devnet = await runAivm(
      ['devnet', '--home', join(dir.path, 'devnet-bad'), '--rpc-port', '0', '--rpc-cors', 'localhost'],
      env,
    );
    assert.equal(devnet.code, 1, devnet.stderr);
    assert.match(devnet.stderr, /--rpc-cors expects \* or an origin .*got "localhost"$/m);
  });
});
