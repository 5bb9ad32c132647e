import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeRlp, encodeRlp } from '@aivm/codec';
import { bytesToHex, concatBytes, hexToBytes, keccak256 } from '@aivm/crypto';
import { privateKeyToAccount } from 'viem/accounts';
import {
  checkTxStateless,
  decodeTx,
  ERR,
  ETH_TRANSFER_MAX_BYTES,
  effectiveGasPrice,
  FEE_COLLECTOR,
  GAS,
  getBalance,
  getNonce,
  intrinsicGas,
  isEthTxBytes,
  signEthTransfer,
  TxRejected,
  WEI_PER_CGPT,
} from '../src/index.ts';
import {
  buildBlock,
  createTestChain,
  GAS_PRICE,
  importBlock,
  signMsg,
  type TestChain,
} from '../src/testing/index.ts';

const CGPT = WEI_PER_CGPT;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function rejection(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TxRejected, `expected TxRejected, got ${err}`);
    return err.code;
  }
  assert.fail('expected a rejection');
}

async function blockRejection(tc: TestChain, raw: Uint8Array): Promise<number> {
  try {
    await buildBlock(tc, [raw]);
  } catch (err) {
    assert.ok(err instanceof TxRejected, `expected TxRejected, got ${err}`);
    return err.code;
  }
  assert.fail('expected a rejection');
}

describe('Ethereum-signed transfers (eth-tx.ts)', () => {
  let tc: TestChain;
  const lookup = (type: string) => tc.chain.registry.message(type)?.schema;
  before(async () => {
    tc = await createTestChain({ accounts: 3, fundCgpt: 1_000n });
  });
  after(() => tc.close());

  it('decodes viem-signed legacy (EIP-155) and EIP-1559 transfers to a bank/send with the Ethereum hash', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const account = privateKeyToAccount(bytesToHex(a.privateKey));
    const legacy = await account.signTransaction({
      type: 'legacy',
      chainId: Number(tc.chain.chainId),
      nonce: 7,
      gas: 30_000n,
      gasPrice: 2n * GAS_PRICE,
      to: b.address,
      value: 3n * CGPT,
    });
    const tx = decodeTx(hexToBytes(legacy), lookup);
    assert.equal(tx.hash, bytesToHex(keccak256(hexToBytes(legacy))));
    assert.equal(tx.from, a.address);
    assert.equal(tx.chainId, tc.chain.chainId);
    assert.equal(tx.nonce, 7n);
    assert.equal(tx.gasLimit, 30_000n);
    assert.equal(tx.gasPrice, 2n * GAS_PRICE);
    assert.equal(tx.msgType, 'bank/send');
    assert.deepEqual(tx.msg, { to: b.address, amount: 3n * CGPT });
    assert.deepEqual(tx.eth, { type: 'legacy', value: 3n * CGPT });
    assert.equal(tx.signature.length, 65);

    const typed = await account.signTransaction({
      type: 'eip1559',
      chainId: Number(tc.chain.chainId),
      nonce: 0,
      gas: 25_000n,
      maxFeePerGas: 3n * GAS_PRICE,
      maxPriorityFeePerGas: 5n,
      to: b.address,
      value: 1n,
    });
    assert.equal(typed.slice(0, 4), '0x02');
    const t2 = decodeTx(hexToBytes(typed), lookup);
    assert.equal(t2.hash, bytesToHex(keccak256(hexToBytes(typed))));
    assert.equal(t2.from, a.address);
    assert.equal(t2.gasPrice, 3n * GAS_PRICE);
    assert.deepEqual(t2.eth, { type: 'eip1559', value: 1n, maxPriorityFeePerGas: 5n });
    assert.equal(effectiveGasPrice(t2, GAS_PRICE), GAS_PRICE + 5n);
    assert.equal(effectiveGasPrice({ gasPrice: GAS_PRICE + 2n, eth: t2.eth }, GAS_PRICE), GAS_PRICE + 2n);

    // signEthTransfer (the fuzzer's and tools' signer) gives the same bytes as viem.
    const ours = signEthTransfer(
      {
        type: 'eip1559',
        chainId: tc.chain.chainId,
        nonce: 0n,
        gasLimit: 25_000n,
        maxFeePerGas: 3n * GAS_PRICE,
        maxPriorityFeePerGas: 5n,
        to: b.address,
        value: 1n,
      },
      a.privateKey,
    );
    assert.equal(bytesToHex(ours), typed);
    const oursLegacy = signEthTransfer(
      {
        type: 'legacy',
        chainId: tc.chain.chainId,
        nonce: 7n,
        gasLimit: 30_000n,
        gasPrice: 2n * GAS_PRICE,
        to: b.address,
        value: 3n * CGPT,
      },
      a.privateKey,
    );
    assert.equal(bytesToHex(oursLegacy), legacy);
    assert.ok(isEthTxBytes(ours) && isEthTxBytes(oursLegacy));
    assert.ok(!isEthTxBytes(signMsg(tc, a, 0n, 'bank/send', { to: b.address, amount: 1n })));
  });

  it('executes both forms as transfers: exact balances, shared nonce, fee at the effective price', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const a0 = await getBalance(tc.state, a.address);
    const b0 = await getBalance(tc.state, b.address);
    const fc0 = await getBalance(tc.state, FEE_COLLECTOR);
    const n0 = await getNonce(tc.state, a.address);
    const base = { chainId: tc.chain.chainId, to: b.address, value: (3n * CGPT) / 2n, gasLimit: 21_000n };
    const legacy = signEthTransfer(
      { ...base, type: 'legacy', nonce: n0, gasPrice: 2n * GAS_PRICE },
      a.privateKey,
    );
    const typed = signEthTransfer(
      { ...base, type: 'eip1559', nonce: n0 + 1n, maxFeePerGas: 10n * GAS_PRICE, maxPriorityFeePerGas: 7n },
      a.privateKey,
    );
    // An AIVM transaction after them: one nonce sequence for both kinds.
    const aivm = signMsg(tc, a, n0 + 2n, 'bank/send', { to: b.address, amount: 1n });
    const { block, result } = await buildBlock(tc, [legacy, typed, aivm]);
    const [r1, r2, r3] = result.receipts as [
      (typeof result.receipts)[0],
      (typeof result.receipts)[0],
      (typeof result.receipts)[0],
    ];
    assert.equal(r1.code, 0, r1.error);
    assert.equal(r2.code, 0, r2.error);
    assert.equal(r3.code, 0, r3.error);
    assert.equal(bytesToHex(r1.txHash), bytesToHex(keccak256(legacy)));
    assert.equal(bytesToHex(r2.txHash), bytesToHex(keccak256(typed)));
    assert.equal(r1.feeWei, r1.gasUsed * 2n * GAS_PRICE);
    assert.equal(r2.feeWei, r2.gasUsed * (GAS_PRICE + 7n));
    // A plain transfer fits the 21,000 gas wallets assume for one.
    assert.ok(r1.gasUsed <= 21_000n && r2.gasUsed <= 21_000n, `${r1.gasUsed} ${r2.gasUsed}`);
    assert.equal(r1.events[0]?.type, 'transfer');
    assert.equal(await getNonce(tc.state, a.address), n0 + 3n);
    assert.equal(await getBalance(tc.state, b.address), b0 + 3n * CGPT + 1n);
    assert.equal(
      await getBalance(tc.state, a.address),
      a0 - 3n * CGPT - 1n - r1.feeWei - r2.feeWei - r3.feeWei,
    );
    assert.ok((await getBalance(tc.state, FEE_COLLECTOR)) >= fc0);
    // Every validator re-executes it to the same roots (a second chain from the same genesis).
    assert.equal(block.header.height, 1n);
    const other = await createTestChain({ accounts: 3, fundCgpt: 1_000n });
    try {
      const res = await importBlock(other, block);
      assert.deepEqual(res.stateRoot, result.stateRoot);
      assert.deepEqual(res.resultsRoot, result.resultsRoot);
    } finally {
      await other.close();
    }
  });

  it('refuses with stable codes: wrong or missing chain id, data, contract creation, high s, nonce, funds, type', async () => {
    const [a, b] = tc.accounts as [(typeof tc.accounts)[0], (typeof tc.accounts)[0]];
    const nonce = await getNonce(tc.state, a.address);
    const base = {
      type: 'legacy' as const,
      chainId: tc.chain.chainId,
      nonce,
      to: b.address,
      value: CGPT,
      gasLimit: 21_000n,
      gasPrice: GAS_PRICE,
    };
    const account = privateKeyToAccount(bytesToHex(a.privateKey));
    const stateless = (raw: Uint8Array) => rejection(() => checkTxStateless(raw, tc.chain));

    // Another chain's id (EIP-155 replay protection), for both forms.
    assert.equal(
      stateless(signEthTransfer({ ...base, chainId: tc.chain.chainId + 1n }, a.privateKey)),
      ERR.WRONG_CHAIN,
    );
    assert.equal(
      stateless(
        signEthTransfer({ ...base, type: 'eip1559', chainId: 1n, maxFeePerGas: GAS_PRICE }, a.privateKey),
      ),
      ERR.WRONG_CHAIN,
    );
    // A legacy transaction without a chain id (v = 27/28).
    const noChain = await account.signTransaction({
      type: 'legacy',
      nonce: Number(nonce),
      gas: 21_000n,
      gasPrice: GAS_PRICE,
      to: b.address,
      value: 1n,
    });
    assert.equal(stateless(hexToBytes(noChain)), ERR.WRONG_CHAIN);
    // Call data and contract creation: AIVM has no EVM.
    const withData = await account.signTransaction({
      type: 'eip1559',
      chainId: Number(tc.chain.chainId),
      nonce: Number(nonce),
      gas: 21_000n,
      maxFeePerGas: GAS_PRICE,
      maxPriorityFeePerGas: 0n,
      to: b.address,
      value: 1n,
      data: '0xa9059cbb',
    });
    assert.equal(stateless(hexToBytes(withData)), ERR.UNSUPPORTED_TX);
    const creation = await account.signTransaction({
      type: 'legacy',
      chainId: Number(tc.chain.chainId),
      nonce: Number(nonce),
      gas: 100_000n,
      gasPrice: GAS_PRICE,
      data: '0x6080',
    });
    assert.equal(stateless(hexToBytes(creation)), ERR.UNSUPPORTED_TX);
    const accessList = await account.signTransaction({
      type: 'eip1559',
      chainId: Number(tc.chain.chainId),
      nonce: Number(nonce),
      gas: 21_000n,
      maxFeePerGas: GAS_PRICE,
      maxPriorityFeePerGas: 0n,
      to: b.address,
      value: 1n,
      accessList: [{ address: b.address, storageKeys: [] }],
    });
    assert.equal(stateless(hexToBytes(accessList)), ERR.UNSUPPORTED_TX);
    const eip2930 = await account.signTransaction({
      type: 'eip2930',
      chainId: Number(tc.chain.chainId),
      nonce: Number(nonce),
      gas: 21_000n,
      gasPrice: GAS_PRICE,
      to: b.address,
      value: 1n,
    });
    assert.equal(stateless(hexToBytes(eip2930)), ERR.UNSUPPORTED_TX);

    // High s: the malleable twin of a valid signature (s' = n - s, v parity flipped).
    const good = signEthTransfer(base, a.privateKey);
    const items = decodeRlp(good) as Uint8Array[];
    const s = BigInt(bytesToHex(items[8]!));
    const v = BigInt(bytesToHex(items[6]!));
    const flippedV = v % 2n === 0n ? v - 1n : v + 1n;
    const toBytes = (x: bigint) => {
      const hex = x.toString(16);
      return hexToBytes(`0x${hex.length % 2 ? '0' : ''}${hex}`);
    };
    const highS = encodeRlp([...items.slice(0, 6), toBytes(flippedV), items[7]!, toBytes(SECP256K1_N - s)]);
    assert.equal(stateless(highS), ERR.BAD_SIGNATURE);
    // Non-canonical integers (a leading zero) are malformed: one transfer, one spelling, one hash.
    const padded = encodeRlp([
      ...items.slice(0, 4),
      concatBytes(Uint8Array.of(0), items[4]!),
      ...items.slice(5),
    ]);
    assert.equal(stateless(padded), ERR.TX_DECODE);
    // A priority fee above the max fee.
    const tipAbove = signEthTransfer(
      { ...base, type: 'eip1559', maxFeePerGas: 5n, maxPriorityFeePerGas: 6n },
      a.privateKey,
    );
    assert.equal(stateless(tipAbove), ERR.TX_DECODE);
    // Garbage after the type byte; an unknown type.
    assert.equal(stateless(Uint8Array.of(2, 0xc0)), ERR.TX_DECODE);
    assert.equal(stateless(Uint8Array.of(5, 0xc0)), ERR.UNSUPPORTED_TX);

    // Stateful refusals in a block: nonce, fee floor, funds (fee + value), gas below intrinsic.
    assert.equal(
      await blockRejection(tc, signEthTransfer({ ...base, nonce: nonce + 1n }, a.privateKey)),
      ERR.NONCE_GAP,
    );
    if (nonce > 0n)
      assert.equal(
        await blockRejection(tc, signEthTransfer({ ...base, nonce: nonce - 1n }, a.privateKey)),
        ERR.NONCE_TOO_LOW,
      );
    assert.equal(
      await blockRejection(tc, signEthTransfer({ ...base, gasPrice: GAS_PRICE - 1n }, a.privateKey)),
      ERR.UNDERPRICED,
    );
    assert.equal(
      await blockRejection(
        tc,
        signEthTransfer(
          { ...base, type: 'eip1559', maxFeePerGas: GAS_PRICE - 1n, maxPriorityFeePerGas: 0n },
          a.privateKey,
        ),
      ),
      ERR.UNDERPRICED,
    );
    const balance = await getBalance(tc.state, a.address);
    assert.equal(
      await blockRejection(
        tc,
        signEthTransfer({ ...base, value: balance - 21_000n * GAS_PRICE + 1n }, a.privateKey),
      ),
      ERR.INSUFFICIENT_FUNDS,
    );
    assert.equal(
      await blockRejection(tc, signEthTransfer({ ...base, gasLimit: 10_000n }, a.privateKey)),
      ERR.GAS_LIMIT,
    );
    // All of it left the state untouched; the exact-balance transfer goes through.
    assert.equal(await getNonce(tc.state, a.address), nonce);
    const exact = signEthTransfer({ ...base, value: balance - 21_000n * GAS_PRICE }, a.privateKey);
    const { result } = await buildBlock(tc, [exact]);
    assert.equal(result.receipts[0]!.code, 0, result.receipts[0]!.error);
    assert.equal(await getBalance(tc.state, a.address), 21_000n * GAS_PRICE - result.receipts[0]!.feeWei);
  });

  it('bounds the size: the largest accepted transfer costs a fixed intrinsic gas', () => {
    assert.ok(ETH_TRANSFER_MAX_BYTES < 300, `${ETH_TRANSFER_MAX_BYTES}`);
    assert.equal(
      intrinsicGas(new Uint8Array(ETH_TRANSFER_MAX_BYTES)),
      GAS.TX_BASE + GAS.TX_BYTE * BigInt(ETH_TRANSFER_MAX_BYTES),
    );
    const max = signEthTransfer(
      {
        type: 'legacy',
        chainId: (1n << 64n) - 1n,
        nonce: (1n << 64n) - 1n,
        gasLimit: (1n << 64n) - 1n,
        gasPrice: (1n << 256n) - 1n,
        to: tc.accounts[0]!.address,
        value: (1n << 256n) - 1n,
      },
      tc.accounts[0]!.privateKey,
    );
    assert.ok(max.length <= ETH_TRANSFER_MAX_BYTES);
    assert.equal(decodeTx(max, lookup).chainId, (1n << 64n) - 1n);
  });
});
