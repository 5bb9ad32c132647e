// EIP-712 hashing checked against viem and ethers, and signatures from both wallets recovered through ours.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TypedDataEncoder, Wallet } from 'ethers';
import {
  type TypedDataDefinition,
  hashStruct as viemHashStruct,
  hashTypedData as viemHashTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  bytesToHex,
  EIP712_DOMAIN_FIELDS,
  encodeType,
  generatePrivateKey,
  hashDomain,
  hashStruct,
  hashTypedData,
  hexToBytes,
  InvalidTypedDataError,
  privateKeyToAddress,
  recoverAddress,
  recoverAddressWith,
  signTypedData,
  type TypedData,
  type TypedDataField,
  type TypedDataTypes,
} from '../src/index.node.ts';

const viemDef = (td: TypedData) => td as unknown as TypedDataDefinition;
const viemHash = (td: TypedData) => viemHashTypedData(viemDef(td));
const ethersHash = (td: TypedData) => TypedDataEncoder.hash(td.domain, td.types, td.message);

const TX_TYPES: TypedDataTypes = {
  Tx: [
    { name: 'from', type: 'address' },
    { name: 'nonce', type: 'uint64' },
    { name: 'fee', type: 'Fee' },
    { name: 'transfers', type: 'Transfer[]' },
    { name: 'memo', type: 'string' },
    { name: 'data', type: 'bytes' },
    { name: 'urgent', type: 'bool' },
    { name: 'modelHash', type: 'bytes32' },
    { name: 'tags', type: 'string[]' },
    { name: 'delta', type: 'int128' },
    { name: 'scores', type: 'uint8[3]' },
    { name: 'selector', type: 'bytes4' },
  ],
  Fee: [
    { name: 'gasLimit', type: 'uint64' },
    { name: 'gasPriceWei', type: 'uint256' },
  ],
  Transfer: [
    { name: 'to', type: 'address' },
    { name: 'amountWei', type: 'uint256' },
    { name: 'note', type: 'string' },
  ],
};

const DOMAIN = { name: 'AIVM', version: '1', chainId: 31337 };

function txMessage(i: number): Record<string, unknown> {
  return {
    from: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    nonce: i,
    fee: { gasLimit: 21000n + BigInt(i), gasPriceWei: 10n ** 18n * BigInt(i + 1) },
    transfers: Array.from({ length: i % 3 }, (_, k) => ({
      to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
      amountWei: (1n << 255n) + BigInt(k),
      note: k === 0 ? '' : `pay ${k} ✓`,
    })),
    memo: i % 2 ? 'héllo wörld' : '',
    data: i % 2 ? '0x' : bytesToHex(new Uint8Array(70).map((_, k) => k + i)),
    urgent: i % 2 === 0,
    modelHash: bytesToHex(new Uint8Array(32).fill(i)),
    tags: i === 0 ? [] : ['a', 'b'.repeat(i)],
    delta: i % 2 ? -(1n << 127n) : (1n << 127n) - 1n,
    scores: [0, 255, i],
    selector: '0xa9059cbb',
  };
}

const txData = (i: number, domain = DOMAIN): TypedData => ({
  domain,
  types: TX_TYPES,
  primaryType: 'Tx',
  message: txMessage(i),
});

const MAIL_TYPES: TypedDataTypes = {
  Person: [
    { name: 'name', type: 'string' },
    { name: 'wallet', type: 'address' },
  ],
  Mail: [
    { name: 'from', type: 'Person' },
    { name: 'to', type: 'Person' },
    { name: 'contents', type: 'string' },
  ],
};
const MAIL_MESSAGE = {
  from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
  to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
  contents: 'Hello, Bob!',
};

const isTypedDataError = (re: RegExp) => (e: unknown) =>
  e instanceof InvalidTypedDataError && e.code === 'INVALID_TYPED_DATA' && re.test(e.message);

describe('EIP-712 hashing', () => {
  it('encodes types as the EIP specifies (dependencies sorted)', () => {
    assert.equal(
      encodeType(MAIL_TYPES, 'Mail'),
      'Mail(Person from,Person to,string contents)Person(string name,address wallet)',
    );
    assert.equal(encodeType(MAIL_TYPES, 'Mail'), TypedDataEncoder.from(MAIL_TYPES).encodeType('Mail'));
    assert.equal(
      encodeType(TX_TYPES, 'Tx'),
      'Tx(address from,uint64 nonce,Fee fee,Transfer[] transfers,string memo,bytes data,bool urgent,bytes32 modelHash,' +
        'string[] tags,int128 delta,uint8[3] scores,bytes4 selector)Fee(uint64 gasLimit,uint256 gasPriceWei)' +
        'Transfer(address to,uint256 amountWei,string note)',
    );
  });

  it('matches viem and ethers on the EIP-712 Mail example', () => {
    const td: TypedData = { domain: DOMAIN, types: MAIL_TYPES, primaryType: 'Mail', message: MAIL_MESSAGE };
    assert.equal(bytesToHex(hashTypedData(td)), viemHash(td));
    assert.equal(bytesToHex(hashTypedData(td)), ethersHash(td));
    assert.equal(
      bytesToHex(hashStruct(MAIL_TYPES, 'Mail', MAIL_MESSAGE)),
      viemHashStruct({ data: MAIL_MESSAGE, primaryType: 'Mail', types: MAIL_TYPES } as never),
    );
    assert.equal(bytesToHex(hashDomain(DOMAIN)), TypedDataEncoder.hashDomain(DOMAIN));
  });

  it('matches viem and ethers on Tx-like data (nested struct, struct arrays, bytes, strings, ints, fixed arrays)', () => {
    for (let i = 0; i < 8; i++) {
      const td = txData(i);
      const ours = bytesToHex(hashTypedData(td));
      assert.equal(ours, viemHash(td), `viem #${i}`);
      assert.equal(ours, ethersHash(td), `ethers #${i}`);
    }
  });

  it('accepts Uint8Array for bytes fields and bigint or number for integers, with the same hash', () => {
    const td = txData(4);
    const alt = {
      ...td,
      message: {
        ...td.message,
        nonce: 4n,
        data: hexToBytes(td.message.data as string),
        modelHash: hexToBytes(td.message.modelHash as string),
        fee: { gasLimit: 21004, gasPriceWei: 5n * 10n ** 18n },
      },
    };
    assert.deepEqual(hashTypedData(alt), hashTypedData(td));
    const bigChain = { ...td, domain: { ...DOMAIN, chainId: 31337n } };
    assert.deepEqual(hashTypedData(bigChain), hashTypedData(td));
  });

  it('handles recursive types and nested arrays like viem', () => {
    const types: TypedDataTypes = {
      Tree: [
        { name: 'label', type: 'string' },
        { name: 'children', type: 'Tree[]' },
        { name: 'grid', type: 'uint16[2][]' },
      ],
    };
    const leaf = (label: string) => ({ label, children: [], grid: [] });
    const td: TypedData = {
      domain: DOMAIN,
      types,
      primaryType: 'Tree',
      message: {
        label: 'root',
        children: [leaf('a'), { label: 'b', children: [leaf('c')], grid: [[1, 2]] }],
        grid: [
          [3, 4],
          [5, 65535],
        ],
      },
    };
    assert.equal(bytesToHex(hashTypedData(td)), viemHash(td));
  });

  it('keeps cached results correct across messages, types objects and a mutated domain', () => {
    const domain = { ...DOMAIN };
    for (let i = 0; i < 3; i++)
      assert.equal(bytesToHex(hashTypedData(txData(i, domain))), viemHash(txData(i, domain)));
    domain.chainId = 1;
    assert.equal(bytesToHex(hashTypedData(txData(1, domain))), viemHash(txData(1, domain)));
    const copy = structuredClone(TX_TYPES);
    assert.deepEqual(hashTypedData({ ...txData(2), types: copy }), hashTypedData(txData(2)));
    assert.deepEqual(
      EIP712_DOMAIN_FIELDS.map((f) => `${f.type} ${f.name}`),
      ['string name', 'string version', 'uint256 chainId'],
    );
  });

  it('different messages, domains and chain ids give different digests', () => {
    const base = bytesToHex(hashTypedData(txData(1)));
    assert.notEqual(bytesToHex(hashTypedData(txData(2))), base);
    assert.notEqual(bytesToHex(hashTypedData(txData(1, { ...DOMAIN, chainId: 1 }))), base);
    assert.notEqual(bytesToHex(hashTypedData(txData(1, { ...DOMAIN, version: '2' }))), base);
  });

  it('rejects malformed typed data with a path to the bad field', () => {
    const withMessage = (patch: Record<string, unknown>): TypedData => ({
      ...txData(1),
      message: { ...txMessage(1), ...patch },
    });
    const cases: [TypedData, RegExp][] = [
      [withMessage({ fee: { gasLimit: 1 } }), /^message\.fee\.gasPriceWei: missing field/],
      [withMessage({ nonce: 2n ** 64n }), /message\.nonce: uint64 out of range/],
      [withMessage({ nonce: -1 }), /uint64 out of range/],
      [withMessage({ nonce: 1.5 }), /safe integer/],
      [withMessage({ nonce: 2 ** 60 }), /safe integer/],
      [withMessage({ nonce: '1' }), /expected uint64/],
      [withMessage({ delta: 1n << 127n }), /int128 out of range/],
      [withMessage({ delta: -(1n << 127n) - 1n }), /int128 out of range/],
      [withMessage({ scores: [0, 256, 1] }), /message\.scores\[1\]: uint8 out of range/],
      [withMessage({ scores: [0, 1] }), /expected 3 elements/],
      [withMessage({ urgent: 1 }), /expected bool/],
      [
        withMessage({ from: '0xf39fd6e51aad88F6F4ce6aB8827279cffFb92266' }),
        /message\.from: expected address/,
      ],
      [withMessage({ modelHash: '0x1234' }), /bytes32 must be 32 bytes/],
      [withMessage({ data: 'hello' }), /expected bytes/],
      [withMessage({ memo: 5 }), /expected string/],
      [
        withMessage({
          transfers: [{ to: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8', amountWei: -1n, note: '' }],
        }),
        /transfers\[0\]\.amountWei: uint256 out of range/,
      ],
      [withMessage({ transfers: {} }), /expected Transfer\[\] as array/],
      [withMessage({ fee: [1, 2] }), /expected Fee as object/],
      [{ ...txData(1), primaryType: 'Nope' }, /unknown type: Nope/],
      [{ ...txData(1), primaryType: 'constructor' }, /unknown type: constructor/],
      [
        { ...txData(1), types: { ...TX_TYPES, Fee: [{ name: 'x', type: 'toString' }] } },
        /unknown type: toString/,
      ],
      [{ ...txData(1), types: { ...TX_TYPES, Fee: [{ name: 'x', type: 'uint7' }] } }, /unknown type: uint7/],
      [
        { ...txData(1), types: { ...TX_TYPES, Fee: [{ name: 'x', type: 'bytes33' }] } },
        /unknown type: bytes33/,
      ],
      [{ ...txData(1), types: { ...TX_TYPES, Fee: [{ name: 'a b', type: 'uint8' }] } }, /invalid field name/],
      [
        { ...txData(1), types: { ...TX_TYPES, EIP712Domain: [...EIP712_DOMAIN_FIELDS] } },
        /must not include EIP712Domain/,
      ],
      [
        { ...txData(1), types: { ...TX_TYPES, Fee: [null as unknown as TypedDataField] } },
        /field without a type/,
      ],
      [
        {
          ...txData(1),
          types: {
            ...TX_TYPES,
            Fee: [
              { name: 'a', type: 'uint8' },
              { name: 'a', type: 'bool' },
            ],
          },
        },
        /repeats field a/,
      ],
      [
        { ...txData(1), types: { ...TX_TYPES, 'Fee Two': [] }, primaryType: 'Fee Two' },
        /invalid struct name/,
      ],
      [
        { ...txData(1), types: { ...TX_TYPES, Fee: [{ name: 'x', type: 'Fee' }] } },
        /message\.fee\.x: missing field/,
      ],
      [txData(1, { ...DOMAIN, chainId: -1 }), /domain\.chainId: uint256 out of range/],
      [txData(1, { ...DOMAIN, name: 7 as unknown as string }), /domain\.name: expected string/],
    ];
    for (const [td, re] of cases) assert.throws(() => hashTypedData(td), isTypedDataError(re), re.source);
  });
});

describe('EIP-712 signatures across wallets', () => {
  it('recovers viem signTypedData signatures, and ours are byte-identical to viem', async () => {
    for (let i = 0; i < 5; i++) {
      const sk = generatePrivateKey();
      const account = privateKeyToAccount(bytesToHex(sk));
      const td = txData(i);
      const sig = hexToBytes(await account.signTypedData(viemDef(td)));
      const digest = hashTypedData(td);
      assert.equal(recoverAddress(digest, sig), account.address);
      assert.equal(recoverAddressWith('noble', digest, sig), account.address);
      assert.deepEqual(signTypedData(td, sk), sig);
    }
  });

  it('recovers ethers Wallet.signTypedData signatures', async () => {
    for (let i = 0; i < 5; i++) {
      const sk = generatePrivateKey();
      const wallet = new Wallet(bytesToHex(sk));
      const td = txData(i);
      const sig = hexToBytes(await wallet.signTypedData(td.domain, td.types, td.message));
      assert.equal(recoverAddress(hashTypedData(td), sig), wallet.address);
      assert.equal(wallet.address, privateKeyToAddress(sk));
    }
    const mail: TypedData = { domain: DOMAIN, types: MAIL_TYPES, primaryType: 'Mail', message: MAIL_MESSAGE };
    const wallet = Wallet.createRandom();
    const sig = hexToBytes(await wallet.signTypedData(mail.domain, mail.types, mail.message));
    assert.equal(recoverAddress(hashTypedData(mail), sig), wallet.address);
  });

  it('a signature over one message does not recover the signer for another', () => {
    const sk = generatePrivateKey();
    const sig = signTypedData(txData(1), sk);
    assert.notEqual(recoverAddress(hashTypedData(txData(2)), sig), privateKeyToAddress(sk));
  });
});
