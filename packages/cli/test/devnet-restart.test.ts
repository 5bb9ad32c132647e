// `aivm devnet` across restarts: it resumes its home (transfers kept) unless --reset, says which in
// its banner, and refuses a stored chain whose genesis it would not build. Also its log formats.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { mnemonicToPrivateKey, privateKeyToAddress } from '@aivm/crypto';
import { defaultLogFormat } from '@aivm/node';
import { AivmClient, Wallet } from '@aivm/sdk';
import { DEV_MNEMONIC } from '../src/index.ts';
import { BIN, runAivm, startAivm, tempDir } from './helpers.ts';

const CGPT = 10n ** 18n;
const bob = privateKeyToAddress(mnemonicToPrivateKey(DEV_MNEMONIC, 1));
const devnetArgs = (home: string, ...extra: string[]) => [
  'devnet',
  '--home',
  home,
  '--rpc-port',
  '0',
  '--block-time',
  '100',
  '--accounts',
  '2',
  '--no-provider',
  '--log-level',
  'warn',
  ...extra,
];

describe('devnet restarts', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('aivm-devnet-restart-');
  });
  after(() => dir.remove());

  it('resumes the chain in its home, and --reset starts a fresh one', async () => {
    const first = await startAivm(devnetArgs(dir.path));
    assert.equal(first.info.resumed, false);
    const client = new AivmClient(first.rpcUrl);
    const alice = Wallet.fromPrivateKey(mnemonicToPrivateKey(DEV_MNEMONIC, 0), client);
    const record = await client.waitForTx(await alice.transfer(bob, 5n * CGPT), { timeoutMs: 15_000 });
    assert.equal(record.receipt.success, true);
    assert.equal(await first.stop(), 0);

    const second = await startAivm(devnetArgs(dir.path));
    assert.equal(second.info.resumed, true);
    assert.ok(BigInt(second.info.height as string) >= record.height, 'resumed at or above the transfer');
    assert.equal(await new AivmClient(second.rpcUrl).getBalance(bob), 1_000_005n * CGPT);
    assert.equal(await second.stop(), 0);

    const third = await startAivm(devnetArgs(dir.path, '--reset'));
    assert.equal(third.info.resumed, false);
    assert.equal(await new AivmClient(third.rpcUrl).getBalance(bob), 1_000_000n * CGPT);
    assert.equal(await third.stop(), 0);
  });

  it('refuses a stored chain whose genesis this build would not make, and names --reset', async () => {
    // Other options stand in for another version: both change what the devnet's genesis would be.
    const r = await runAivm(['--json', ...devnetArgs(dir.path, '--accounts', '3')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const error = (JSON.parse(r.stderr) as { error: string }).error;
    assert.match(error, /has another genesis than this aivm builds \(it differs in app\.bank:/);
    assert.match(error, /start a fresh one with --reset/);
  });

  it('still takes --keep (resuming is the default now), but not with --reset', async () => {
    const kept = await startAivm(devnetArgs(dir.path, '--keep'));
    assert.equal(kept.info.resumed, true);
    assert.equal(await kept.stop(), 0);
    const r = await runAivm(devnetArgs(dir.path, '--keep', '--reset'));
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: --reset and --keep contradict each other: give one\n');
  });

  it('says "resumed at height N" in the human banner', async () => {
    const stdout = await humanBanner(devnetArgs(dir.path));
    assert.match(stdout, /\n {2}chain {6}resumed at height [0-9]+ \(--reset starts a fresh one\)\n/);
  });
});

describe('devnet log formats', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir('aivm-devnet-logs-');
  });
  after(() => dir.remove());

  it('defaults to readable lines on a terminal, JSON otherwise', () => {
    assert.equal(defaultLogFormat({ isTTY: true }), 'pretty');
    assert.equal(defaultLogFormat({ isTTY: false }), 'json');
    assert.equal(defaultLogFormat({}), 'json');
  });

  it('writes JSON lines when stderr is not a terminal', async () => {
    const line = await firstLogLine([...devnetArgs(dir.path), '--log-level', 'info']);
    assert.equal((JSON.parse(line) as { msg: string }).msg, 'rpc server listening');
  });

  it('writes readable lines with --log-format pretty', async () => {
    const line = await firstLogLine([
      ...devnetArgs(dir.path),
      '--log-level',
      'info',
      '--log-format',
      'pretty',
    ]);
    assert.match(line, /^\[[0-9:.]+\] INFO: rpc server listening \{"host":"127\.0\.0\.1","port":[0-9]+\}$/);
  });

  it('rejects an unknown --log-format', async () => {
    const r = await runAivm([...devnetArgs(dir.path), '--log-format', 'xml']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /option '--log-format <format>' argument 'xml' is invalid\. Allowed choices are json, pretty\./,
    );
  });
});

/** Starts `aivm <args>` (human output), returns its stdout up to "Press Ctrl-C", then stops it. */
function humanBanner(args: string[]): Promise<string> {
  return untilThenStop(args, 'stdout', (out) => (out.includes('Press Ctrl-C') ? out : undefined));
}

/** Starts `aivm <args>`, returns the first line it logs on stderr, then stops it. */
function firstLogLine(args: string[]): Promise<string> {
  return untilThenStop(args, 'stderr', (err) => {
    const nl = err.indexOf('\n');
    return nl >= 0 ? err.slice(0, nl) : undefined;
  });
}

function untilThenStop(
  args: string[],
  stream: 'stdout' | 'stderr',
  done: (text: string) => string | undefined,
): Promise<string> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let other = '';
  return new Promise((resolve, reject) => {
    let result: string | undefined;
    proc[stream === 'stdout' ? 'stderr' : 'stdout'].on('data', (d: Buffer) => (other += d.toString()));
    proc[stream].on('data', (d: Buffer) => {
      text += d.toString();
      if (result === undefined) {
        result = done(text);
        if (result !== undefined) proc.kill('SIGTERM');
      }
    });
    proc.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`aivm exited with ${code} before the expected ${stream}:\n${text}\n${other}`));
    });
  });
}
