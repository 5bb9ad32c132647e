// aivm testnet: a validator that fails after the start shows its error on the terminal, not only in
// its node.log.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, runAivm, tempDir } from './helpers.ts';

/** A port the OS just handed out (free now; the testnet uses it and the next one). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('aivm testnet', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('aivm-testnet-errors-');
  });
  after(() => dir.remove());

  it("prints a failed validator's error where the user looks", async () => {
    const testnet = join(dir.path, 'net');
    const args = ['testnet', '--dir', testnet, '--validators', '2', '--accounts', '1'];
    const ports = ['--rpc-port', String(await freePort()), '--p2p-port', String(await freePort())];
    const init = await runAivm([...args, ...ports, '--init-only']);
    assert.equal(init.code, 0, init.stderr);
    // validator-1's config is broken after the fact: its process refuses to start.
    const config = join(testnet, 'validator-1', 'config.json');
    await writeFile(
      config,
      JSON.stringify({ ...JSON.parse(await readFile(config, 'utf8')), rpc: { port: 70000 } }),
    );

    const proc = spawn(process.execPath, [BIN, ...args, '--keep'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const line = await new Promise<string>((resolve, reject) => {
      proc.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /^validator-1 exited.*$/m.exec(stderr);
        if (m) resolve(m[0]);
      });
      proc.on('exit', (code) => reject(new Error(`testnet exited with ${code}:\n${stderr}`)));
    });
    proc.removeAllListeners('exit');
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
    assert.equal(
      line,
      `validator-1 exited (1): config rpc.port must be 0..65535, got 70000; full log: ${join(testnet, 'validator-1')}/node.log`,
    );
  });
});
