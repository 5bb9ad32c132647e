// `aivm start`'s per-client RPC limit flags reach the node's RPC server: with one connection per
// client, a second WebSocket from the same address is refused with HTTP 429 while another address
// is still served; a limit below 1 is refused with a clear error.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type RunningNode, runAivm, startAivm, tempDir } from './helpers.ts';

const env = { AIVM_VALIDATOR_PASSWORD: 'rpc-limits-test' };

/** Opens a WebSocket from `localAddress`; resolves with it, or with the HTTP status that refused it. */
function connect(url: string, localAddress: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('aivm start --rpc-max-*-per-client', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let node: RunningNode | undefined;

  before(async () => {
    home = await tempDir('aivm-rpc-limits-');
    const init = await runAivm(['init', '--home', join(home.path, 'node'), '--chain-id', '4243'], env);
    assert.equal(init.code, 0, init.stderr);
  });
  after(async () => {
    await node?.stop();
    await home.remove();
  });

  it('refuses a limit below 1, naming the flag', async () => {
    const run = await runAivm(
      ['start', '--home', join(home.path, 'node'), '--rpc-port', '0', '--rpc-max-uploads-per-client', '0'],
      env,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /--rpc-max-uploads-per-client must be an integer in 1\.\.1000000/);
  });

  it('gives one client the connections the flag allows, and no more', async () => {
    node = await startAivm(
      [
        'start',
        '--home',
        join(home.path, 'node'),
        '--rpc-port',
        '0',
        '--log-level',
        'warn',
        '--rpc-max-connections-per-client',
        '1',
      ],
      env,
    );
    const first = await connect(node.wsUrl, '127.0.0.1');
    assert.ok(first instanceof WebSocket);
    assert.equal(await connect(node.wsUrl, '127.0.0.1'), 429, 'a second connection of the same client');
    const other = await connect(node.wsUrl, '127.0.0.2');
    assert.ok(other instanceof WebSocket, 'another client is served');
    first.close();
    other.close();
  });
});
