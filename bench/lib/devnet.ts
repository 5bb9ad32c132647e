// A real `aivm devnet` child process for the benchmarks: started with the given options, it is
// ready once its JSON banner (which spans several lines) has been printed; stop() ends it.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BIN = join(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');

export type Devnet<T> = T & { proc: ChildProcess; stop(): Promise<void> };

/** Starts `aivm --json devnet --home <home> --rpc-port 0 --log-level warn <args>`; T: the banner's fields. */
export async function startDevnet<T extends object>(home: string, args: string[]): Promise<Devnet<T>> {
  const proc = spawn(
    process.execPath,
    [BIN, '--json', 'devnet', '--home', home, '--rpc-port', '0', '--log-level', 'warn', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  const lines = createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> });
  let buffer = '';
  for await (const line of lines) {
    buffer += line;
    try {
      return { ...(JSON.parse(buffer) as T), proc, stop };
    } catch {
      // banner spans several lines
    }
  }
  throw new Error('devnet did not start');
}
