// CLI errors that name their fix: a client command with no node at its endpoint.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { runAivm } from './helpers.ts';

/** A port of 127.0.0.1 that nothing listens on (the OS handed it out, then it was closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('aivm errors', () => {
  it('a client command with no node at --rpc says so and how to start one', async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const r = await runAivm(['--rpc', rpc, 'status']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: no node answers at ${rpc} (ECONNREFUSED): start one with "npm start" (aivm devnet), or point --rpc or AIVM_RPC at a running node\n`,
    );
  });

  it('the same with --json, as the error field', async () => {
    const rpc = `http://127.0.0.1:${await closedPort()}`;
    const r = await runAivm(['--json', 'query', 'balance', '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'], {
      AIVM_RPC: rpc,
    });
    assert.equal(r.code, 1);
    assert.match(
      (JSON.parse(r.stderr) as { error: string }).error,
      new RegExp(`^no node answers at ${rpc} \\(ECONNREFUSED\\)`),
    );
  });
});
