// The RPC server's static files (AIVM Studio's build, RpcServerOptions.staticDir): index at /,
// content types and cache headers, JSON-RPC, /health, /metrics and /ws unchanged, nothing outside
// the directory reachable whatever the path.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NodeApi } from '../src/api.ts';
import { startRpcServer } from '../src/rpc/server.ts';
import { IMMUTABLE_CACHE, REVALIDATE_CACHE, staticPath } from '../src/rpc/static.ts';

/** Raw GET with the path exactly as given (fetch would normalise `..`). */
function get(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const api = {
  status: () => ({ chainId: 7n, height: 3n, headHash: '0xab' }),
} as unknown as NodeApi;

describe('rpc static files', () => {
  let dir: string;
  let site: string;
  let server: Awaited<ReturnType<typeof startRpcServer>>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aivm-static-'));
    site = join(dir, 'site');
    await mkdir(join(site, 'assets'), { recursive: true });
    await writeFile(join(site, 'index.html'), '<!doctype html><title>studio</title>');
    await writeFile(join(site, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    await writeFile(join(site, 'assets', 'index-AbCd1234.css'), 'body{}');
    await writeFile(join(site, '.env'), 'SECRET=1');
    await writeFile(join(dir, 'secret.txt'), 'outside');
    await symlink(join(dir, 'secret.txt'), join(site, 'link.txt'));
    server = await startRpcServer(api, { port: 0, staticDir: site });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and hashed assets with long-lived caching', async () => {
    const index = await get(server.port, '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['cache-control'], REVALIDATE_CACHE);
    assert.match(index.body, /studio/);
    const js = await get(server.port, '/assets/index-AbCd1234.js?v=1');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], IMMUTABLE_CACHE);
    const css = await get(server.port, '/assets/index-AbCd1234.css', 'HEAD');
    assert.equal(css.status, 200);
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.body, '');
  });

  it('keeps JSON-RPC, /health and /metrics', async () => {
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'no_such_method' }),
    });
    const answer = (await res.json()) as { error?: { code: number } };
    assert.equal(answer.error?.code, -32601);
    const health = await get(server.port, '/health');
    assert.equal(JSON.parse(health.body).status, 'ok');
    const metrics = await get(server.port, '/metrics');
    assert.match(metrics.body, /aivm_rpc_/);
    const ws = await get(server.port, '/ws');
    assert.equal(ws.status, 404);
  });

  it('reaches nothing outside the directory, nor hidden files', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%00index.html',
      '/%E0%A4%A',
      '/.env',
      '/link.txt',
      '//etc/passwd',
    ]) {
      const res = await get(server.port, path);
      assert.equal(res.status, 404, `${path} answered ${res.status}`);
      assert.doesNotMatch(res.body, /outside|SECRET/, path);
    }
    assert.equal(staticPath('/srv/site', '/../x'), undefined);
    assert.equal(staticPath('/srv/site', '/a/%2e%2e/%2e%2e/x'), undefined);
    assert.equal(staticPath('/srv/site', '/'), '/srv/site/index.html');
  });

  it('without staticDir, GET / is still refused as before', async () => {
    const plain = await startRpcServer(api, { port: 0 });
    try {
      assert.equal((await get(plain.port, '/')).status, 405);
      assert.equal((await get(plain.port, '/index.html')).status, 404);
    } finally {
      await plain.close();
    }
  });
});
