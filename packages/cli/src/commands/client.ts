// aivm status | query ... | tx send|msg|create-validator: talk to a running node over JSON-RPC through the SDK.

import { resolve } from 'node:path';
import { signAttestationKeyProof } from '@aivm/chain';
import {
  type Address,
  bytesToHex,
  ed25519PublicKey,
  type Hex,
  isAddress,
  isHex,
  privateKeyToAddress,
} from '@aivm/crypto';
import { type AivmClient, type TxRecord, Wallet } from '@aivm/sdk';
import type { Command } from 'commander';
import { globals, rpcIsDefault } from '../args.ts';
import { loadAttestationKey, loadOperatorKey, loadValidatorKey, UsageError } from '../home.ts';
import { formatCgpt, parseCgpt, print } from '../output.ts';
import { readPassword } from '../password.ts';
import { rpcClient } from '../signer.ts';
import { unlockKey } from './keys.ts';

const client = (cmd: Command) => rpcClient(cmd, 10_000);

/**
 * On the default endpoint, says on stderr which chain answered (stdout stays the result): a devnet
 * and a testnet both default to port 8545, and a user who started one may be talking to the other.
 */
async function noteDefaultEndpoint(cmd: Command, c: AivmClient): Promise<void> {
  const g = globals(cmd);
  if (g.json || !rpcIsDefault(cmd)) return;
  const { chainId } = await c.status();
  process.stderr.write(
    `(chain ${chainId} at ${g.rpc}, the default endpoint; --rpc <url> or AIVM_RPC for another)\n`,
  );
}

function address(value: string): Address {
  if (!isAddress(value)) throw new UsageError(`not an address: ${value}`);
  return value;
}

function txHash(value: string): Hex {
  if (!isHex(value) || value.length !== 66) throw new UsageError(`not a transaction hash: ${value}`);
  return value;
}

export function registerClientCommands(program: Command): void {
  program
    .command('status')
    .description('chain status of the node at --rpc')
    .action(async (_o, cmd: Command) => {
      const s = await client(cmd).status();
      print(globals(cmd), s, () =>
        [
          `chain id     ${s.chainId}`,
          `endpoint     ${globals(cmd).rpc}${rpcIsDefault(cmd) ? ' (the default; --rpc <url> or AIVM_RPC for another)' : ''}`,
          `height       ${s.height}`,
          `head         ${s.headHash}`,
          `state root   ${s.stateRoot}`,
          `block time   ${new Date(Number(s.timeMs)).toISOString()}`,
          `mempool      ${s.mempool.count} txs, ${s.mempool.bytes} bytes`,
          `validator    ${s.validator ?? '-'}`,
          `version      ${s.version}`,
        ].join('\n'),
      );
    });

  const query = program.command('query').description('read chain data');
  query
    .command('balance <address>')
    .description('CGPT balance of an account')
    .action(async (a: string, _o, cmd: Command) => {
      const c = client(cmd);
      const wei = await c.getBalance(address(a));
      print(globals(cmd), { address: a, balanceWei: wei }, () => `${formatCgpt(wei)} CGPT`);
      await noteDefaultEndpoint(cmd, c);
    });
  query
    .command('account <address>')
    .description('nonce and balance of an account')
    .action(async (a: string, _o, cmd: Command) => {
      const c = client(cmd);
      const acc = await c.getAccount(address(a));
      print(globals(cmd), acc, () =>
        [
          `address        ${acc.address}`,
          `balance        ${formatCgpt(acc.balanceWei)} CGPT`,
          `nonce          ${acc.nonce}`,
          `pending nonce  ${acc.pendingNonce}`,
        ].join('\n'),
      );
      await noteDefaultEndpoint(cmd, c);
    });
  query
    .command('block [heightOrHash]')
    .description('a block by height or hash (latest if omitted)')
    .action(async (ref: string | undefined, _o, cmd: Command) => {
      let arg: { height?: bigint; hash?: Hex } = {};
      if (ref !== undefined) {
        if (/^[0-9]+$/.test(ref)) arg = { height: BigInt(ref) };
        else if (isHex(ref) && ref.length === 66) arg = { hash: ref };
        else throw new UsageError('give a block height or a 0x block hash');
      }
      const block = await client(cmd).getBlock(arg);
      if (!block) throw new UsageError('no such block');
      print(globals(cmd), block, () =>
        JSON.stringify(block, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
      );
    });
  query
    .command('tx <hash>')
    .description('a committed transaction and its receipt')
    .action(async (h: string, _o, cmd: Command) => {
      const tx = await client(cmd).getTx(txHash(h));
      if (!tx) throw new UsageError('transaction not found (pending or unknown)');
      print(globals(cmd), tx, () =>
        JSON.stringify(tx, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
      );
    });

  query
    .command('module <path>')
    .description('a module query, e.g. staking/validators, distribution/pendingRewards, gov/proposal')
    .option('--params <json>', 'query parameters as JSON', '{}')
    .action(async (path: string, opts, cmd: Command) => {
      let params: object;
      try {
        params = JSON.parse(opts.params);
      } catch (err) {
        throw new UsageError(`--params is not JSON: ${(err as Error).message}`);
      }
      const result = await client(cmd).query(path, params);
      print(globals(cmd), result, () =>
        JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
      );
    });

  const tx = program.command('tx').description('sign and send transactions');
  tx.command('send')
    .description('send CGPT')
    .requiredOption('--from <key>', 'key name in the keystore (or a keystore .json file)')
    .requiredOption('--to <address>', 'recipient')
    .requiredOption('--amount <CGPT>', 'amount in CGPT, e.g. 1.5')
    .option('--gas-price <wei>', 'gas price in wei')
    .option('--password-file <file>', 'file holding the key password (or AIVM_PASSWORD)')
    .option('--no-wait', 'return as soon as the node accepted the transaction')
    .action(async (opts, cmd: Command) => {
      const to = address(opts.to);
      let amount: bigint;
      try {
        amount = parseCgpt(opts.amount);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (opts.gasPrice !== undefined && !/^[0-9]+$/.test(opts.gasPrice))
        throw new UsageError('--gas-price must be an integer (wei)');
      const sk = await unlockKey(cmd, opts.from, opts.passwordFile);
      const c = client(cmd);
      const wallet = Wallet.fromPrivateKey(sk, c);
      const hash = await wallet.transfer(
        to,
        amount,
        opts.gasPrice ? { gasPrice: BigInt(opts.gasPrice) } : {},
      );
      await finishTx(cmd, c, hash, opts.wait);
    });

  tx.command('msg <type>')
    .description('send any module message, e.g. staking/delegate, gov/vote, slashing/unjail')
    .requiredOption('--from <key>', 'key name in the keystore (or a keystore .json file)')
    .requiredOption('--msg <json>', 'the message as JSON (amounts in wei as decimal strings)')
    .option('--password-file <file>', 'file holding the key password (or AIVM_PASSWORD)')
    .option('--no-wait', 'return as soon as the node accepted the transaction')
    .action(async (type: string, opts, cmd: Command) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(opts.msg);
      } catch (err) {
        throw new UsageError(`--msg is not JSON: ${(err as Error).message}`);
      }
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
        throw new UsageError('--msg must be a JSON object');
      const sk = await unlockKey(cmd, opts.from, opts.passwordFile);
      const c = client(cmd);
      const hash = await Wallet.fromPrivateKey(sk, c).send(type, msg);
      await finishTx(cmd, c, hash, opts.wait);
    });

  tx.command('create-validator')
    .description(
      "make a node a validator: stake from its operator account with its consensus key, then register its attestation key (attestation.json) with the key's proof of possession",
    )
    .requiredOption(
      '--home <dir>',
      'the node home (its operator-key.json pays, its validator key signs votes, its attestation.json signs attestations)',
    )
    .requiredOption('--amount <CGPT>', 'self-stake in CGPT (at least staking.minSelfDelegation)')
    .option('--moniker <name>', 'public name', '')
    .option('--commission <rate>', 'commission rate, e.g. 0.1 for 10%', '0.1')
    .option('--password-file <file>', 'file holding the node key password (or AIVM_VALIDATOR_PASSWORD)')
    .option('--no-wait', 'return as soon as the node accepted the transactions')
    .action(async (opts, cmd: Command) => {
      const home = resolve(opts.home);
      const commission = Number(opts.commission);
      if (!(commission >= 0 && commission <= 1)) throw new UsageError('--commission must be in 0..1');
      const password = await readPassword({
        passwordFile: opts.passwordFile,
        env: 'AIVM_VALIDATOR_PASSWORD',
        prompt: 'Node key password: ',
      });
      const operatorKey = await loadOperatorKey(home, password);
      if (!operatorKey) throw new UsageError(`${home} has no operator-key.json`);
      const consensusPubKey = ed25519PublicKey(await loadValidatorKey(home, password));
      // Homes made before attestation keys have no attestation.json: they stake without one.
      const attestationKey = await loadAttestationKey(home, password);
      const rate = BigInt(Math.round(commission * 10_000)) * 10n ** 14n;
      const c = client(cmd);
      const wallet = Wallet.fromPrivateKey(operatorKey, c);
      const hash = await wallet.send('staking/createValidator', {
        consensusPubKey: bytesToHex(consensusPubKey),
        moniker: opts.moniker,
        selfStake: parseCgptArg(opts.amount).toString(),
        commissionRate: rate.toString(),
        maxCommissionRate: (rate > 2n * 10n ** 17n ? rate : 2n * 10n ** 17n).toString(),
        maxCommissionChangeRate: (10n ** 16n).toString(),
      });
      const keyAddress = attestationKey ? privateKeyToAddress(attestationKey) : undefined;
      if (!keyAddress)
        process.stderr.write(`${home} has no attestation.json: no attestation key registered\n`);
      // staking/setAttestationKey with the key's signature over AivmAttestationKey(operator).
      const registerKey = async (gasLimit?: bigint): Promise<Hex> => {
        const { chainId } = await c.status();
        return wallet.send(
          'staking/setAttestationKey',
          {
            key: keyAddress,
            signature: signAttestationKeyProof(chainId, wallet.address, attestationKey!),
          },
          gasLimit === undefined ? {} : { gasLimit },
        );
      };
      if (!opts.wait) {
        // The next nonce, so it runs after createValidator; no gas estimate for a validator that
        // does not exist yet, hence a fixed limit (it uses about a quarter of it).
        const keyHash = keyAddress ? await registerKey(ATTESTATION_KEY_GAS_LIMIT) : undefined;
        print(
          globals(cmd),
          { hash, attestationKey: keyAddress ? { address: keyAddress, hash: keyHash } : null },
          () =>
            [`sent ${hash}`, ...(keyAddress ? [`sent ${keyHash} (attestation key ${keyAddress})`] : [])].join(
              '\n',
            ),
        );
        return;
      }
      const record = await c.waitForTx(hash, { timeoutMs: 60_000 });
      // Once the validator exists, its attestation key (estimated, so it fits today's gas schedule).
      const keyRecord =
        keyAddress && record.receipt.success
          ? await c.waitForTx(await registerKey(), { timeoutMs: 60_000 })
          : undefined;
      const registered = keyRecord?.receipt.success === true;
      print(
        globals(cmd),
        {
          ...record,
          attestationKey: keyAddress ? { address: keyAddress, registered, ...(keyRecord ?? {}) } : null,
        },
        () =>
          [
            ...txLines(record),
            ...(keyAddress
              ? [
                  `attestation key ${keyAddress} ${registered ? 'registered' : 'not registered'}`,
                  ...(keyRecord ? txLines(keyRecord) : []),
                ]
              : []),
          ].join('\n'),
      );
      if (!record.receipt.success || (keyRecord && !registered)) process.exitCode = 1;
    });
}

/** Gas limit of create-validator's staking/setAttestationKey under --no-wait (it uses ~26,000). */
const ATTESTATION_KEY_GAS_LIMIT = 100_000n;

function parseCgptArg(value: string): bigint {
  try {
    return parseCgpt(value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Prints the hash, or waits for the receipt and prints it; a failed transaction exits 1. */
async function finishTx(cmd: Command, c: AivmClient, hash: Hex, wait: boolean): Promise<void> {
  if (!wait) {
    print(globals(cmd), { hash }, () => `sent ${hash}`);
    return;
  }
  const record = await c.waitForTx(hash, { timeoutMs: 60_000 });
  print(globals(cmd), record, () => txLines(record).join('\n'));
  if (!record.receipt.success) process.exitCode = 1;
}

function txLines(record: TxRecord): string[] {
  return [
    `transaction ${record.hash}`,
    `  block     ${record.height}`,
    `  status    ${record.receipt.success ? 'success' : `failed: ${record.receipt.error}`}`,
    `  gas used  ${record.receipt.gasUsed}`,
    `  fee       ${formatCgpt(record.receipt.feeWei)} CGPT`,
  ];
}
