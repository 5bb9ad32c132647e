// Client commands on the default endpoint (no --rpc, no AIVM_RPC) say which chain answered, since
// two local chains both default to port 8545. Needs that port: the test skips when it is taken.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertPortsFree } from '../src/ports.ts';
import { type RunningNode, runAivm, startAivm, tempDir } from './helpers.ts';

const DEFAULT_PORT = 8545;
const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const withoutRpcEnv = (): Record<string, string> => {
  const env = { ...process.env } as Record<string, string>;
  delete env.AIVM_RPC;
  return env;
};

async function portFree(): Promise<boolean> {
  try {
    await assertPortsFree([{ host: '127.0.0.1', port: DEFAULT_PORT, what: 'JSON-RPC', flag: '--rpc-port' }]);
    return true;
  } catch {
    return false;
  }
}

describe('the default endpoint names its chain', async () => {
  const free = await portFree();
  let node: RunningNode | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
  before(async () => {
    if (!free) return;
    dir = await tempDir('aivm-default-endpoint-');
    node = await startAivm([
      'devnet',
      '--home',
      dir.path,
      '--rpc-port',
      String(DEFAULT_PORT),
      '--no-provider',
      '--accounts',
      '1',
      '--log-level',
      'warn',
    ]);
  });
  after(async () => {
    if (node) assert.equal(await node.stop(), 0);
    await dir?.remove();
  });
  const skip = free ? false : `port ${DEFAULT_PORT} is taken on this machine`;

  it('status prints the endpoint and that it is the default', { skip }, async () => {
    const r = await runAivm(['status'], withoutRpcEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^chain id {5}7331\nendpoint {5}http:\/\/127\.0\.0\.1:8545 \(the default; --rpc <url> or AIVM_RPC for another\)\n/,
    );
  });

  it('query balance keeps stdout the result and names the chain on stderr', { skip }, async () => {
    const r = await runAivm(['query', 'balance', ALICE], withoutRpcEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1000000 CGPT\n');
    assert.equal(
      r.stderr,
      '(chain 7331 at http://127.0.0.1:8545, the default endpoint; --rpc <url> or AIVM_RPC for another)\n',
    );
  });

  it('says nothing extra when --rpc chose the endpoint', { skip }, async () => {
    const r = await runAivm(
      ['--rpc', `http://127.0.0.1:${DEFAULT_PORT}`, 'query', 'balance', ALICE],
      withoutRpcEnv(),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1000000 CGPT\n');
    assert.equal(r.stderr, '');
  });
});
