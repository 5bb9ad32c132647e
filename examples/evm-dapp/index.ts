// An account on an EVM chain asks AIVM for an inference, with @aivm/evm and @aivm/sdk: the MNIST
// sample 7 is quantized with the model's input scale (read from AIVM), requested on the oracle on
// the on-chain tier, carried to AIVM by a relayer and delivered back with the AIVM validators'
// signatures, which the oracle's light client checks. Run it against a devnet, an EVM node with the
// contracts deployed and a relayer (`npm run demo:evm` starts all of them; docs/evm.md):
//
//   npx node examples/evm-dapp/index.ts --evm-rpc <url> --oracle <address> [--aivm-rpc <url>]
//
// Each step prints one line starting with its name (the CI test checks them).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectEvm, modelIdToBytes32, requestInference, watchRequest } from '@aivm/evm';
import { AivmClient, DEV_MNEMONIC, getModelIO, listModels, quantizeInput } from '@aivm/sdk';
import { type Address, toHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

const { values: args } = parseArgs({
  options: {
    'evm-rpc': { type: 'string', default: 'http://127.0.0.1:8546' },
    'aivm-rpc': { type: 'string', default: 'http://127.0.0.1:8545' },
    oracle: { type: 'string' },
    account: { type: 'string', default: '3' },
  },
});
if (!args.oracle) throw new Error('--oracle <address> is required (aivm evm deploy prints it)');
const oracle = args.oracle as Address;

// The EVM account: one of anvil's dev accounts (the public test mnemonic). Never hold real funds
// with it; on a real chain use your own key.
const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: Number(args.account) });
const key = toHex(account.getHdKey().privateKey!);
const { pub, wallet, chainId } = await connectEvm(args['evm-rpc']!, key);
const aivm = new AivmClient(args['aivm-rpc']!);
console.log(`connected: EVM chain ${chainId}, account ${account.address}, oracle ${oracle}`);

// 1. The model and its input: the devnet's MNIST classifier, the sample 7 quantized for it.
const [mnist] = await listModels(aivm, { text: 'mnist' });
if (!mnist) throw new Error('no MNIST model on this AIVM chain');
const digit = JSON.parse(await readFile(join(import.meta.dirname, 'digit-7.json'), 'utf8')) as number[][];
const input = quantizeInput(await getModelIO(aivm, mnist), digit);
console.log(`model: ${mnist.id} = ${modelIdToBytes32(mnist.id)} on the EVM, ${input.length} input bytes`);

// 2. The request: requestInference quotes the fee, pays it (the excess comes back) and returns the
// oracle's request id. No callback: an account reads the result itself.
const sent = await requestInference(pub, wallet!, { oracle, modelId: mnist.id, tier: 'onchain', input });
console.log(`request: ${sent.id} in EVM block ${sent.blockNumber}`);

// 3. Follow it on both chains until it is delivered: EVM Pending -> Relayed -> Fulfilled, and the
// AIVM request the relayer opened.
const done = await watchRequest(pub, oracle, sent.id, {
  aivm,
  timeoutMs: 180_000,
  onStep: (s) => console.log(`  ${s.chain} ${s.status}${s.detail ? ` (${s.detail})` : ''}`),
});
const evmStatuses = done.history.filter((h) => h.chain === 'evm').map((h) => h.status);
console.log(
  `delivered: request ${sent.id} ${evmStatuses.at(-1)} via ${done.delivery?.path}, class ${done.argmax}, ` +
    `output ${JSON.stringify(done.output)}, EVM statuses ${evmStatuses.join(',')}`,
);
aivm.close();
