// Where passwords come from: a file, an environment variable, or a prompt that does not echo.

import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { UsageError } from './home.ts';

export async function readPassword(opts: {
  passwordFile?: string;
  env?: string;
  prompt: string;
  confirm?: boolean;
}): Promise<string> {
  if (opts.passwordFile) {
    const text = await readFile(opts.passwordFile, 'utf8').catch(() => {
      throw new UsageError(`cannot read password file ${opts.passwordFile}`);
    });
    return text.replace(/\r?\n$/, '');
  }
  const fromEnv = process.env[opts.env ?? 'AIVM_PASSWORD'];
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new UsageError(`no password: pass --password-file or set ${opts.env ?? 'AIVM_PASSWORD'}`);
  }
  const first = await prompt(opts.prompt);
  if (opts.confirm && (await prompt('Repeat password: ')) !== first)
    throw new UsageError('passwords do not match');
  return first;
}

function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    out._writeToOutput = () => {};
  });
}
