// The node's committed chain: blocks, receipts, the tx index and the state tree, all in one
// LevelDB. A block and everything it changes land in ONE synced batch, so a crash at any moment
// leaves either the whole block or none of it.

import {
  type Block,
  type BlockResult,
  type ChainContext,
  type Commit,
  CommitSchema,
  decodeBlock,
  encodeBlock,
  type GenesisDoc,
  genesisChainId,
  type Header,
  HeaderSchema,
  headerHash,
  initGenesis,
  type Receipt,
  ReceiptSchema,
  type Registry,
} from '@aivm/chain';
import { decode, encode } from '@aivm/codec';
import {
  bytesToHex,
  concatBytes,
  equalBytes,
  type Hex,
  hexToBytes,
  readU64be,
  u64be,
  utf8ToBytes,
} from '@aivm/crypto';
import { type BatchOp, Database, StateTree } from '@aivm/state';

const P_BLOCK = utf8ToBytes('c:b:');
const P_RECEIPTS = utf8ToBytes('c:r:');
const P_HASH = utf8ToBytes('c:h:');
const P_TX = utf8ToBytes('c:x:');
const P_COMMIT = utf8ToBytes('c:c:');
const K_HEAD = utf8ToBytes('c:head');
const K_GENESIS = utf8ToBytes('c:genesis');

/** height (8 bytes) ++ index (4 bytes): sorts receipts of a block in order. */
function txLocationBytes(height: bigint, index: number): Uint8Array {
  const loc = new Uint8Array(12);
  loc.set(u64be(height));
  new DataView(loc.buffer).setUint32(8, index);
  return loc;
}

export class GenesisMismatch extends Error {}

export class ChainStore {
  readonly db: Database;
  readonly state: StateTree;
  readonly chain: ChainContext;
  readonly genesisHeader: Header;
  readonly genesisHash: Hex;
  #head: Header;
  #headHash: Hex;

  private constructor(db: Database, state: StateTree, chain: ChainContext, genesis: Header, head: Header) {
    this.db = db;
    this.state = state;
    this.chain = chain;
    this.genesisHeader = genesis;
    this.genesisHash = bytesToHex(headerHash(genesis));
    this.#head = head;
    this.#headHash = bytesToHex(headerHash(head));
  }

  /** Opens the data directory's database, writing the genesis state on first start. */
  static async open(dbPath: string, genesis: GenesisDoc, registry: Registry): Promise<ChainStore> {
    const db = await Database.open(dbPath);
    try {
      const state = await StateTree.open(db);
      const chain: ChainContext = { chainId: genesisChainId(genesis), registry, senderCache: new Map() };
      const storedGenesis = await db.get(K_GENESIS);
      if (!storedGenesis) {
        const { header, result } = await initGenesis(state, genesis, registry);
        const encoded = encode(HeaderSchema, header);
        await db.write([
          ...result.staged.ops,
          { type: 'put', key: K_GENESIS, value: encoded },
          { type: 'put', key: K_HEAD, value: u64be(0) },
        ]);
        state.applyStaged(result.staged);
        return new ChainStore(db, state, chain, header, header);
      }
      const genesisHeader = decode(HeaderSchema, storedGenesis);
      if (genesisHeader.chainId !== chain.chainId) {
        throw new GenesisMismatch(
          `database holds chain ${genesisHeader.chainId}, genesis file says ${chain.chainId}`,
        );
      }
      const headHeight = readU64be((await db.get(K_HEAD))!);
      const store = new ChainStore(db, state, chain, genesisHeader, genesisHeader);
      if (headHeight > 0n) {
        const head = await store.getBlock(headHeight);
        if (!head) throw new Error(`database is missing head block ${headHeight}`);
        store.#setHead(head.header);
      }
      if (!equalBytes(state.root, store.#head.stateRoot)) {
        throw new Error(`state root ${bytesToHex(state.root)} does not match head block ${headHeight}`);
      }
      return store;
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  get head(): Header {
    return this.#head;
  }

  get headHash(): Hex {
    return this.#headHash;
  }

  #setHead(header: Header): void {
    this.#head = header;
    this.#headHash = bytesToHex(headerHash(header));
  }

  /** Persists a block executed against the current head, atomically, then advances the head. */
  async commitBlock(block: Block, result: BlockResult, commit: Commit): Promise<void> {
    const h = block.header;
    if (h.height !== this.#head.height + 1n)
      throw new Error(`cannot commit ${h.height} on top of ${this.#head.height}`);
    const height = u64be(h.height);
    const hash = headerHash(h);
    const ops: BatchOp[] = [...result.staged.ops];
    ops.push({ type: 'put', key: concatBytes(P_BLOCK, height), value: encodeBlock(block) });
    ops.push({ type: 'put', key: concatBytes(P_HASH, hash), value: height });
    ops.push({ type: 'put', key: concatBytes(P_COMMIT, height), value: encode(CommitSchema, commit) });
    result.receipts.forEach((r, i) => {
      const loc = txLocationBytes(h.height, i);
      ops.push({ type: 'put', key: concatBytes(P_TX, r.txHash), value: loc });
      ops.push({ type: 'put', key: concatBytes(P_RECEIPTS, loc), value: encode(ReceiptSchema, r) });
    });
    ops.push({ type: 'put', key: K_HEAD, value: height });
    await this.db.write(ops);
    this.state.applyStaged(result.staged);
    this.#setHead(h);
  }

  async getBlock(height: bigint): Promise<Block | undefined> {
    if (height === 0n) return undefined;
    const raw = await this.db.get(concatBytes(P_BLOCK, u64be(height)));
    return raw ? decodeBlock(raw) : undefined;
  }

  async getHeader(height: bigint): Promise<Header | undefined> {
    if (height === 0n) return this.genesisHeader;
    return (await this.getBlock(height))?.header;
  }

  async heightOf(hash: Hex): Promise<bigint | undefined> {
    if (hash.toLowerCase() === this.genesisHash) return 0n;
    const raw = await this.db.get(concatBytes(P_HASH, hexToBytes(hash, 32)));
    return raw ? readU64be(raw) : undefined;
  }

  async getReceipts(height: bigint): Promise<Receipt[]> {
    const from = concatBytes(P_RECEIPTS, u64be(height));
    const out: Receipt[] = [];
    for await (const [, value] of this.db.iterate({
      gte: from,
      lt: concatBytes(P_RECEIPTS, u64be(height + 1n)),
    })) {
      out.push(decode(ReceiptSchema, value));
    }
    return out;
  }

  async getReceipt(height: bigint, index: number): Promise<Receipt | undefined> {
    const raw = await this.db.get(concatBytes(P_RECEIPTS, txLocationBytes(height, index)));
    return raw ? decode(ReceiptSchema, raw) : undefined;
  }

  async getCommit(height: bigint): Promise<Commit | undefined> {
    const raw = await this.db.get(concatBytes(P_COMMIT, u64be(height)));
    return raw ? decode(CommitSchema, raw) : undefined;
  }

  async txLocation(hash: Hex): Promise<{ height: bigint; index: number } | undefined> {
    const raw = await this.db.get(concatBytes(P_TX, hexToBytes(hash, 32)));
    if (!raw) return undefined;
    return { height: readU64be(raw), index: new DataView(raw.buffer, raw.byteOffset).getUint32(8) };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
