// The explorer's search: what a query looks like (classify, no network) and where it leads
// (resolveSearch asks the node). A number can be a block height or an inference request id, a
// 32-byte hash a block or a transaction: when both exist the user picks.

import { type AivmClient, getModel, getRequest, listModels, ModelNotFoundError } from '@aivm/sdk';

export type SearchKind = 'number' | 'hash' | 'address' | 'text' | 'invalid';

export type Classified = { kind: SearchKind; value: string; message?: string };

/** What the query could be, from its form alone. */
export function classify(input: string): Classified {
  const q = input.trim();
  if (q === '')
    return {
      kind: 'invalid',
      value: q,
      message: 'Type a block height or hash, a transaction hash, an address, a model id or a request id.',
    };
  if (/^\d{1,20}$/.test(q)) {
    if (BigInt(q) > 2n ** 64n - 1n)
      return { kind: 'invalid', value: q, message: `${q} is larger than any height or request id.` };
    return { kind: 'number', value: BigInt(q).toString() };
  }
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return { kind: 'hash', value: q.toLowerCase() };
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return { kind: 'address', value: q };
  if (/^0x/i.test(q))
    return {
      kind: 'invalid',
      value: q,
      message: `"${q}" is not a hash (0x + 64 hex digits) or an address (0x + 40 hex digits): it has ${q.length - 2} characters after 0x${/^0x[0-9a-fA-F]*$/i.test(q) ? '' : ', not all hex digits'}.`,
    };
  if (q.length > 128)
    return { kind: 'invalid', value: q.slice(0, 40), message: 'That is too long for a model id or name.' };
  return { kind: 'text', value: q };
}

export type SearchTarget = { label: string; route: string[] };

export type SearchOutcome =
  | { kind: 'go'; target: SearchTarget }
  | { kind: 'choose'; targets: SearchTarget[] }
  | { kind: 'none'; message: string };

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch {
    return null;
  }
}

function outcome(targets: SearchTarget[], none: string): SearchOutcome {
  if (targets.length === 1) return { kind: 'go', target: targets[0]! };
  if (targets.length > 1) return { kind: 'choose', targets };
  return { kind: 'none', message: none };
}

/** Where a query leads on this node. */
export async function resolveSearch(client: AivmClient, input: string): Promise<SearchOutcome> {
  const c = classify(input);
  switch (c.kind) {
    case 'invalid':
      return { kind: 'none', message: c.message ?? 'Not a valid search.' };
    case 'address':
      return { kind: 'go', target: { label: `Account ${c.value}`, route: ['account', c.value] } };
    case 'number': {
      const [block, request] = await Promise.all([
        orNull(client.getBlock(BigInt(c.value))),
        orNull(getRequest(client, c.value)),
      ]);
      const targets: SearchTarget[] = [];
      if (block) targets.push({ label: `Block ${c.value}`, route: ['block', c.value] });
      // An unknown request comes back as an empty record (id 0, no requester).
      if (request?.requester)
        targets.push({ label: `Inference request ${c.value}`, route: ['request', c.value] });
      return outcome(
        targets,
        `No block at height ${c.value} and no inference request ${c.value} on this chain.`,
      );
    }
    case 'hash': {
      const hash = c.value as `0x${string}`;
      const [block, tx] = await Promise.all([orNull(client.getBlock(hash)), orNull(client.getTx(hash))]);
      const targets: SearchTarget[] = [];
      if (block)
        targets.push({
          label: `Block ${block.header.height}`,
          route: ['block', block.header.height.toString()],
        });
      if (tx) targets.push({ label: `Transaction ${c.value}`, route: ['tx', c.value] });
      if (targets.length === 0) {
        // A transaction still in the mempool (or recently dropped) has a page too.
        const status = await orNull(client.getTxStatus(hash));
        if (status && status.status !== 'unknown')
          targets.push({ label: `Transaction ${c.value}`, route: ['tx', c.value] });
      }
      return outcome(targets, `No block or transaction with hash ${c.value}.`);
    }
    case 'text': {
      try {
        const model = await getModel(client, c.value);
        return { kind: 'go', target: { label: `Model ${model.name}`, route: ['model', model.id] } };
      } catch (err) {
        if (!(err instanceof ModelNotFoundError) && !isNotFound(err)) throw err;
      }
      const models = await listModels(client, { text: c.value, includeInactive: true, limit: 20 });
      return outcome(
        models.map((m) => ({ label: `Model ${m.name} (${m.id})`, route: ['model', m.id] })),
        `No model with id or name "${c.value}". Heights and request ids are numbers, hashes and addresses start with 0x.`,
      );
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'code' in err && (err.code === 1300 || err.code === -32602)
  );
}
