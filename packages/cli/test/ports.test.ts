// A port another process holds: devnet, start and testnet fail before their banner, naming the port
// and the flag that moves it (a real listener holds the port).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runAivm, tempDir } from './helpers.ts';

/** Listens on a free port of 127.0.0.1 until closed; `port` is the port it holds. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('a port in use is reported before the banner', () => {
  let held: { port: number; server: Server };
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    held = await holdPort();
    dir = await tempDir('aivm-ports-');
  });
  after(async () => {
    held.server.close();
    await dir.remove();
  });

  it('aivm devnet names the RPC port and --rpc-port, prints no banner and exits 1', async () => {
    const home = join(dir.path, 'devnet');
    const r = await runAivm(['devnet', '--home', home, '--rpc-port', String(held.port), '--no-provider']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: JSON-RPC port ${held.port} on 127.0.0.1 is already in use: stop what holds it, or choose another port with --rpc-port\n`,
    );
    // Checked before anything was written: no half-made dev chain to resume later.
    assert.equal(existsSync(home), false);
  });

  it('aivm start names the p2p port and --p2p-port', async () => {
    const home = join(dir.path, 'node');
    const init = await runAivm(['init', '--home', home, '--p2p-port', String(held.port), '--rpc-port', '0'], {
      AIVM_VALIDATOR_PASSWORD: 'pw',
    });
    assert.equal(init.code, 0, init.stderr);
    const r = await runAivm(['start', '--home', home], { AIVM_VALIDATOR_PASSWORD: 'pw' });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(`^error: p2p port ${held.port} on 0\\.0\\.0\\.0 is already in use: .*--p2p-port\\n$`),
    );
  });

  it("aivm testnet checks every validator's ports, not only the first", async () => {
    // validator-2's RPC port is the held one: validator-0 and -1 are free.
    const r = await runAivm([
      'testnet',
      '--dir',
      join(dir.path, 'testnet'),
      '--validators',
      '3',
      '--rpc-port',
      String(held.port - 2),
      '--p2p-port',
      String(held.port + 1000),
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      new RegExp(
        `^error: validator-2's JSON-RPC port ${held.port} on 127\\.0\\.0\\.1 is already in use: .*--rpc-port`,
      ),
    );
    assert.equal(existsSync(join(dir.path, 'testnet')), false);
  });
});
