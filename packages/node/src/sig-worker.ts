// Worker thread body: decodes transactions and recovers their senders, off the main thread.

import { parentPort } from 'node:worker_threads';
import { checkTxStateless, defaultModules, Registry, TxRejected } from '@aivm/chain';

export type VerifyRequest = { id: number; chainId: bigint; txs: Uint8Array[] };
export type VerifyResult =
  | { ok: true; hash: `0x${string}`; sender: `0x${string}` }
  | { ok: false; code: number; message: string };
export type VerifyResponse = { id: number; results: VerifyResult[] };

const registry = new Registry(defaultModules());

parentPort!.on('message', (req: VerifyRequest) => {
  const chain = { chainId: req.chainId, registry };
  const results = req.txs.map((raw): VerifyResult => {
    try {
      const { tx, sender } = checkTxStateless(raw, chain);
      return { ok: true, hash: tx.hash, sender };
    } catch (err) {
      if (err instanceof TxRejected) return { ok: false, code: err.code, message: err.message };
      return { ok: false, code: 1001, message: `malformed transaction: ${(err as Error).message}` };
    }
  });
  parentPort!.postMessage({ id: req.id, results } satisfies VerifyResponse);
});
