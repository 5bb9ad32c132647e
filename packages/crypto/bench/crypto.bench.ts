// Throughput of the consensus hot paths (signature recovery, EIP-712 hashing) with viem as the reference.
// Run: node packages/crypto/bench/crypto.bench.ts

import {
  type TypedDataDefinition,
  hashTypedData as viemHashTypedData,
  recoverAddress as viemRecoverAddress,
} from 'viem';
import {
  bytesToHex,
  ed25519GenerateKey,
  ed25519Sign,
  ed25519Verify,
  generatePrivateKey,
  hashTypedData,
  keccak256,
  recoverAddress,
  recoverAddressWith,
  secp256k1Backend,
  signDigest,
  type TypedData,
  utf8ToBytes,
} from '../src/index.node.ts';

/** Runs `fn` repeatedly for about `ms` milliseconds after a warm-up; returns operations per second. */
function rate(fn: (i: number) => unknown, ms = 1000): number {
  for (let i = 0; i < 200; i++) fn(i);
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let k = 0; k < 50; k++) fn(n++);
    elapsed = performance.now() - start;
  }
  return (n / elapsed) * 1000;
}

const TX_TYPES = {
  Tx: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'amountWei', type: 'uint256' },
    { name: 'nonce', type: 'uint64' },
    { name: 'fee', type: 'Fee' },
    { name: 'memo', type: 'string' },
  ],
  Fee: [
    { name: 'gasLimit', type: 'uint64' },
    { name: 'gasPriceWei', type: 'uint256' },
  ],
};
const DOMAIN = { name: 'AIVM', version: '1', chainId: 31337 };
const txs: TypedData[] = Array.from({ length: 256 }, (_, i) => ({
  domain: DOMAIN,
  types: TX_TYPES,
  primaryType: 'Tx',
  message: {
    from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    amountWei: 10n ** 18n * BigInt(i + 1),
    nonce: i,
    fee: { gasLimit: 21000, gasPriceWei: 1_000_000_000n },
    memo: `inference job ${i}`,
  },
}));

const sk = generatePrivateKey();
const digests = Array.from({ length: 256 }, (_, i) => keccak256(utf8ToBytes(`tx ${i}`)));
const sigs = digests.map((d) => signDigest(d, sk));
const sigHex = sigs.map((s) => bytesToHex(s));
const digestHex = digests.map((d) => bytesToHex(d));
const ed = ed25519GenerateKey();
const vote = utf8ToBytes('precommit height=100 round=0 block=0xabc');
const edSig = ed25519Sign(vote, ed.secretKey);

const rows: [string, number][] = [];
rows.push([
  'recoverAddress (native libsecp256k1)',
  rate((i) => recoverAddressWith('native', digests[i & 255]!, sigs[i & 255]!)),
]);
rows.push([
  'recoverAddress (@noble/curves)',
  rate((i) => recoverAddressWith('noble', digests[i & 255]!, sigs[i & 255]!)),
]);
let viemRecoverRate = 0;
{
  // viem's recoverAddress is async; measured in sequence so it is comparable per call.
  const n = 500;
  const start = performance.now();
  for (let i = 0; i < n; i++)
    await viemRecoverAddress({ hash: digestHex[i & 255]!, signature: sigHex[i & 255]! });
  viemRecoverRate = (n / (performance.now() - start)) * 1000;
}
rows.push(['viem recoverAddress (reference)', viemRecoverRate]);
rows.push(['hashTypedData (Tx + nested Fee)', rate((i) => hashTypedData(txs[i & 255]!))]);
rows.push([
  'viem hashTypedData (reference)',
  rate((i) => viemHashTypedData(txs[i & 255] as unknown as TypedDataDefinition)),
]);
rows.push([
  'hashTypedData + recoverAddress',
  rate((i) => recoverAddress(hashTypedData(txs[i & 255]!), sigs[i & 255]!)),
]);
rows.push(['signDigest (@noble/curves)', rate((i) => signDigest(digests[i & 255]!, sk))]);
rows.push(['ed25519Verify (@noble/curves)', rate(() => ed25519Verify(edSig, vote, ed.publicKey))]);

console.log(`secp256k1 backend in use: ${secp256k1Backend()}`);
const width = Math.max(...rows.map(([name]) => name.length));
console.log(`${'operation'.padEnd(width)}  ops/s`);
for (const [name, ops] of rows)
  console.log(`${name.padEnd(width)}  ${Math.round(ops).toLocaleString('en-US').padStart(9)}`);
