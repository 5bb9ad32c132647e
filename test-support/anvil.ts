// A real anvil (Foundry's EVM node) for tests and benchmarks: started as a process on 127.0.0.1
// with a port the OS picks (`--port 0`, read back from anvil's "Listening on" line), ready once
// eth_chainId answers. Its 10 funded dev accounts come from the 'test test … junk' mnemonic, the
// same as AIVM's DEV_MNEMONIC.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ANVIL_BIN = fileURLToPath(new URL('../node_modules/.bin/anvil', import.meta.url));
export const ANVIL_CHAIN_ID = 31337;
/** Private keys of anvil's first dev accounts (the 'test … junk' mnemonic, m/44'/60'/0'/0/i). */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
] as const;

export class AnvilError extends Error {
  override name = 'AnvilError';
}

export type Anvil = { url: string; port: number; stop(): Promise<void> };

export type AnvilOptions = {
  /** Seconds between blocks (interval mining); default: a block per transaction. */
  blockTime?: number;
  chainId?: number;
  /** Milliseconds to wait for the node to answer; default 20 s. */
  readyTimeoutMs?: number;
  /** Extra command-line arguments. */
  args?: string[];
};

async function chainIdAt(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    const body = (await res.json()) as { result?: string };
    return body.result === undefined ? undefined : Number(body.result);
  } catch {
    return undefined;
  }
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
}

/** Starts anvil and resolves once it answers eth_chainId with the requested chain id. */
export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const chainId = opts.chainId ?? ANVIL_CHAIN_ID;
  const args = ['--host', '127.0.0.1', '--port', '0', '--chain-id', String(chainId)];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  args.push(...(opts.args ?? []));
  // Not --silent: that also hides the "Listening on" line that tells the port.
  const child = spawn(ANVIL_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = stopper(child);
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AnvilError(`anvil did not report its port within ${opts.readyTimeoutMs ?? 20000} ms`)),
      opts.readyTimeoutMs ?? 20000,
    );
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4096);
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new AnvilError(`anvil failed to start: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new AnvilError(`anvil exited (${code ?? signal}) before listening: ${output.trim()}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  child.stdout?.resume();
  child.stderr?.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20000);
  for (;;) {
    const id = await chainIdAt(url);
    if (id === chainId) break;
    if (id !== undefined) {
      await stop();
      throw new AnvilError(`anvil at ${url} answered chain id ${id}, expected ${chainId}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new AnvilError(`anvil at ${url} did not answer eth_chainId`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, port, stop };
}
