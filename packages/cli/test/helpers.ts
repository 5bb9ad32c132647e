// Starts real `aivm` processes for integration tests and stops them.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { AivmClient } from '@aivm/sdk';

export const BIN = join(import.meta.dirname, '..', 'src', 'bin.ts');

/**
 * The zk key cache the devnet and testnet tests share, kept between runs: dev keys are cached by
 * circuit hash, so the MNIST model's keys are set up once.
 */
export const ZK_KEYS = join(tmpdir(), 'aivm-inference-test-zk-keys');

export type RunningNode = {
  proc: ChildProcess;
  rpcUrl: string;
  wsUrl: string;
  info: Record<string, unknown>;
  stderr: () => string;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: the crash case. */
  kill(): Promise<void>;
};

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `aivm <args> --json` until it prints its first JSON line (the node's banner). */
export async function startAivm(args: string[], env: Record<string, string> = {}): Promise<RunningNode> {
  const proc = spawn(process.execPath, [BIN, '--json', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: proc.stdout! });
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start in time:\n${err}`)), 30_000);
    let buffer = '';
    lines.on('line', (line) => {
      buffer += line;
      try {
        const parsed = JSON.parse(buffer) as Record<string, unknown>;
        clearTimeout(timer);
        resolve(parsed);
      } catch {
        // the banner is pretty-printed over several lines
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`aivm exited with ${code} before starting:\n${err}`));
    });
  });
  return {
    proc,
    info,
    rpcUrl: info.rpcUrl as string,
    wsUrl: info.wsUrl as string,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * `aivm devnet` in `home` (its RPC on a free port, `blockTimeMs` blocks, default 200, warn logs,
 * then `extraArgs`), its zk keys in the shared ZK_KEYS cache, which it creates if missing. `env`
 * adds to (or overrides) AIVM_ZK_KEYS. Resolves once the devnet prints its banner.
 */
export function startDevnet(
  home: string,
  opts: { blockTimeMs?: number; extraArgs?: string[]; env?: Record<string, string> } = {},
): Promise<RunningNode> {
  mkdirSync(ZK_KEYS, { recursive: true });
  return startAivm(
    [
      'devnet',
      '--home',
      home,
      '--rpc-port',
      '0',
      '--block-time',
      String(opts.blockTimeMs ?? 200),
      '--log-level',
      'warn',
      ...(opts.extraArgs ?? []),
    ],
    { AIVM_ZK_KEYS: ZK_KEYS, ...opts.env },
  );
}

/** Runs an `aivm` command to completion. */
export function runAivm(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A devnet process of 4 dev accounts and 100 ms blocks in a fresh home, started before a test
 * file's tests and stopped after them, which fails if it did not exit cleanly. `running.node` and
 * `running.client` are set once it has started.
 */
export function useDevnet(extraArgs: string[] = []): { node: RunningNode; client: AivmClient } {
  const running = {} as { node: RunningNode; client: AivmClient };
  let home: Awaited<ReturnType<typeof tempDir>> | undefined;
  before(async () => {
    home = await tempDir('aivm-devnet-');
    running.node = await startAivm([
      'devnet',
      '--home',
      home.path,
      '--rpc-port',
      '0',
      '--block-time',
      '100',
      '--accounts',
      '4',
      '--log-level',
      'warn',
      ...extraArgs,
    ]);
    running.client = new AivmClient(running.node.rpcUrl, { wsUrl: running.node.wsUrl });
  });
  after(async () => {
    running.client?.close();
    const code = await running.node?.stop();
    assert.equal(code, 0, `node exited uncleanly:\n${running.node?.stderr()}`);
    await home?.remove();
  });
  return running;
}
