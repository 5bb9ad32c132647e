// A signing account: builds transactions, signs them as EIP-712 typed data (the same bytes any
// Ethereum wallet would sign) and sends them through an AivmClient.

import { defaultModules, Registry } from '@aivm/chain';
import { type MsgSchemaLookup, signTx } from '@aivm/chain/tx';
import { fromJson } from '@aivm/codec';
import {
  type Address,
  type Hex,
  hexToBytes,
  mnemonicToPrivateKey,
  privateKeyToAddress,
  signTypedData,
  type TypedData,
} from '@aivm/crypto';
import type { AivmClient } from './client.ts';
import { RpcError } from './client.ts';
import { big, toJsonParams } from './parse.ts';

/**
 * The public test mnemonic whose first accounts a devnet funds (`m/44'/60'/0'/0/i`, the same
 * accounts as Hardhat and Anvil): `Wallet.fromMnemonic(DEV_MNEMONIC, i, client)`. Everybody knows
 * these keys: use them on a devnet only, never for real funds.
 */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Overrides for Wallet.send and Wallet.transfer; each omitted field is filled in from the node. */
export type SendOptions = {
  /** Default: the node's estimate plus a safety margin. */
  gasLimit?: bigint;
  /** Default: the chain's minimum gas price (auth/params). */
  gasPrice?: bigint;
  /** Default: the account's pending nonce (counting the mempool), or the next after this wallet's last send. */
  nonce?: bigint;
};

/** Options of a Wallet: message schemas and the gas margin. */
export type WalletOptions = {
  /** Message schemas by type; default: the modules of an AIVM chain (defaultModules()). */
  schemas?: MsgSchemaLookup;
  /** Added to the estimate when no gasLimit is given; default 20 (%). */
  gasMarginPercent?: number;
};

/** Fixed headroom on top of the percentage: covers the intrinsic cost of the signature and envelope bytes. */
const GAS_MARGIN_FIXED = 5_000n;

let defaultLookup: MsgSchemaLookup | undefined;
function defaultSchemas(): MsgSchemaLookup {
  if (!defaultLookup) {
    const registry = new Registry(defaultModules());
    defaultLookup = (type) => registry.message(type)?.schema;
  }
  return defaultLookup;
}

type ChainParams = { chainId: bigint; minGasPriceWei: bigint; maxTxGas: bigint | undefined };

/**
 * A signing account: builds transactions, signs them as EIP-712 typed data and sends them through
 * an AivmClient. Sends run one at a time, so nonces are handed out in order.
 */
export class Wallet {
  readonly address: Address;
  readonly client: AivmClient;
  readonly #key: Uint8Array;
  readonly #schemas: MsgSchemaLookup;
  readonly #marginPercent: bigint;
  #chain: Promise<ChainParams> | undefined;
  #nextNonce: bigint | undefined;
  /** Sends run one at a time so that nonces are handed out in order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(privateKey: Uint8Array, client: AivmClient, opts: WalletOptions = {}) {
    this.#key = privateKey;
    this.address = privateKeyToAddress(privateKey);
    this.client = client;
    this.#schemas = opts.schemas ?? defaultSchemas();
    this.#marginPercent = BigInt(opts.gasMarginPercent ?? 20);
  }

  /** The account of a secp256k1 private key (32 bytes, or 0x hex). */
  static fromPrivateKey(privateKey: Uint8Array | Hex, client: AivmClient, opts?: WalletOptions): Wallet {
    const key = typeof privateKey === 'string' ? hexToBytes(privateKey, 32) : privateKey;
    return new Wallet(key, client, opts);
  }

  /** The account at m/44'/60'/0'/0/{index}, as MetaMask and Hardhat derive it. */
  static fromMnemonic(mnemonic: string, index: number, client: AivmClient, opts?: WalletOptions): Wallet {
    return new Wallet(mnemonicToPrivateKey(mnemonic, index), client, opts);
  }

  /**
   * Signed wire bytes of a transaction, without talking to the node. `msg` may be in JSON form
   * (decimal strings, hex) or hold bigint and Uint8Array values.
   */
  buildSigned(
    msgType: string,
    msg: Record<string, unknown>,
    tx: { chainId: bigint; nonce: bigint; gasLimit: bigint; gasPrice: bigint },
  ): Uint8Array {
    const schema = this.#schemas(msgType);
    if (!schema) throw new Error(`unknown message type: ${msgType}`);
    const value = fromJson(schema, toJsonParams(msg)) as Record<string, unknown>;
    return signTx({ ...tx, from: this.address, msgType, msg: value }, this.#key, schema);
  }

  /** Signs EIP-712 typed data with this account (e.g. blobUploadTypedData for uploadBlob's signer). */
  signTypedData(td: TypedData): Uint8Array {
    return signTypedData(td, this.#key);
  }

  /** Builds, signs and sends a transaction; returns its hash (use client.waitForTx for the receipt). */
  send(msgType: string, msg: Record<string, unknown>, opts: SendOptions = {}): Promise<Hex> {
    const run = this.#queue.then(() => this.#send(msgType, msg, opts));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Sends `amountWei` (10^-18 CGPT units) to `to`. */
  transfer(to: Address, amountWei: bigint, opts?: SendOptions): Promise<Hex> {
    return this.send('bank/send', { to, amount: amountWei }, opts);
  }

  async #send(msgType: string, msg: Record<string, unknown>, opts: SendOptions): Promise<Hex> {
    if (!this.#schemas(msgType)) throw new Error(`unknown message type: ${msgType}`);
    const chain = await this.#chainParams();
    const gasPrice = opts.gasPrice ?? chain.minGasPriceWei;
    let nonce = opts.nonce;
    if (nonce === undefined) {
      const { pendingNonce } = await this.client.getAccount(this.address);
      nonce =
        this.#nextNonce !== undefined && this.#nextNonce > pendingNonce ? this.#nextNonce : pendingNonce;
    }
    let gasLimit = opts.gasLimit;
    if (gasLimit === undefined) {
      const estimate = await this.client.estimateGas({
        from: this.address,
        msgType,
        msg: toJsonParams(msg) as Record<string, unknown>,
        gasPrice,
      });
      gasLimit = estimate + (estimate * this.#marginPercent) / 100n + GAS_MARGIN_FIXED;
      if (chain.maxTxGas !== undefined && gasLimit > chain.maxTxGas) gasLimit = chain.maxTxGas;
    }
    const raw = this.buildSigned(msgType, msg, { chainId: chain.chainId, nonce, gasLimit, gasPrice });
    try {
      const hash = await this.client.sendRawTx(raw);
      this.#nextNonce = nonce + 1n;
      return hash;
    } catch (err) {
      // The node's view wins next time (a nonce error, a dropped tx...).
      this.#nextNonce = undefined;
      throw err;
    }
  }

  #chainParams(): Promise<ChainParams> {
    this.#chain ??= (async () => {
      const { chainId } = await this.client.status();
      try {
        const params = (await this.client.query('auth/params')) as {
          minGasPriceWei?: unknown;
          maxTxGas?: unknown;
        };
        return {
          chainId,
          minGasPriceWei: big(params.minGasPriceWei, 'minGasPriceWei'),
          maxTxGas: params.maxTxGas === undefined ? undefined : big(params.maxTxGas, 'maxTxGas'),
        };
      } catch (err) {
        if (err instanceof RpcError) return { chainId, minGasPriceWei: 1_000_000_000n, maxTxGas: undefined };
        throw err;
      }
    })();
    this.#chain.catch(() => {
      this.#chain = undefined;
    });
    return this.#chain;
  }
}
