// EIP-712 typed-data hashing: every AIVM transaction is signed and verified through it, so the
// encoder is compiled once per `types` object and writes straight into the buffers it hashes.

import { isAddress } from './address.ts';
import { hexToBytes, isHex } from './bytes.ts';
import { InvalidTypedDataError } from './errors.ts';
import { keccak256 } from './hash.ts';
import { signDigest } from './secp256k1.ts';

export type TypedDataDomain = { name: string; version: string; chainId: number | bigint };
export type TypedDataField = { name: string; type: string };
export type TypedDataTypes = Record<string, TypedDataField[]>;
export type TypedData = {
  domain: TypedDataDomain;
  types: TypedDataTypes;
  primaryType: string;
  message: Record<string, unknown>;
};

/** Writes the 32-byte EIP-712 encoding of `value` at `out[offset..offset+32]`; `out` is zero-filled. */
type FieldEncoder = (value: unknown, out: Uint8Array, offset: number) => void;

type CompiledStruct = {
  encodedType: string;
  typeHash: Uint8Array;
  fieldNames: string[];
  encoders: FieldEncoder[];
};

/** Carries the field path outward so errors read `message.payload.items[2].amount: ...`. */
class PathError extends InvalidTypedDataError {
  readonly segments: string[];
  readonly detail: string;
  constructor(segments: string[], detail: string) {
    super(`${segments.join('')}: ${detail}`);
    this.segments = segments;
    this.detail = detail;
  }
}

function withSegment(e: unknown, segment: string): unknown {
  if (e instanceof PathError) return new PathError([segment, ...e.segments], e.detail);
  if (e instanceof InvalidTypedDataError) return new PathError([segment], e.message);
  return e;
}

const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const ARRAY_RE = /^(.+)\[(\d*)\]$/;
const UINT_RE = /^uint(\d{1,3})$/;
const INT_RE = /^int(\d{1,3})$/;
const BYTES_N_RE = /^bytes(\d{1,2})$/;
const ATOMIC_RE = /^(?:address|bool|string|bytes|bytes\d{1,2}|u?int\d{1,3})$/;

const textEncoder = new TextEncoder();
const TWO_256 = 1n << 256n;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Writes a value in [0, 2^256) big-endian into out[offset..offset+32] (already zero). */
function writeUint256(out: Uint8Array, offset: number, v: bigint): void {
  let i = offset + 31;
  if (v <= MAX_SAFE_BIG) {
    let n = Number(v);
    while (n > 0) {
      out[i--] = n % 256;
      n = Math.floor(n / 256);
    }
    return;
  }
  const hex = v.toString(16);
  let j = hex.length;
  while (j > 0) {
    const lo = Math.max(j - 2, 0);
    out[i--] = Number.parseInt(hex.slice(lo, j), 16);
    j = lo;
  }
}

function integerEncoder(bits: number, signed: boolean): FieldEncoder {
  const label = `${signed ? 'int' : 'uint'}${bits}`;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const maxNumber = bits >= 53 ? Number.MAX_SAFE_INTEGER : Number(max);
  return (value, out, offset) => {
    let v: bigint;
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value))
        throw new InvalidTypedDataError(`${label} number must be a safe integer`);
      // Fast path: small non-negative numbers need no bigint at all.
      if (value >= 0 && value <= maxNumber) {
        let n = value;
        let i = offset + 31;
        while (n > 0) {
          out[i--] = n % 256;
          n = Math.floor(n / 256);
        }
        return;
      }
      v = BigInt(value);
    } else if (typeof value === 'bigint') {
      v = value;
    } else {
      throw new InvalidTypedDataError(`expected ${label} as bigint or number, got ${describe(value)}`);
    }
    if (v < min || v > max) throw new InvalidTypedDataError(`${label} out of range: ${v}`);
    writeUint256(out, offset, v < 0n ? v + TWO_256 : v);
  };
}

function toBytes(value: unknown, label: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string' && isHex(value)) return hexToBytes(value);
  throw new InvalidTypedDataError(`expected ${label} as 0x-hex string or Uint8Array, got ${describe(value)}`);
}

function fixedBytesEncoder(size: number): FieldEncoder {
  return (value, out, offset) => {
    const b = toBytes(value, `bytes${size}`);
    if (b.length !== size)
      throw new InvalidTypedDataError(`bytes${size} must be ${size} bytes, got ${b.length}`);
    out.set(b, offset);
  };
}

const encodeBool: FieldEncoder = (value, out, offset) => {
  if (typeof value !== 'boolean') throw new InvalidTypedDataError(`expected bool, got ${describe(value)}`);
  if (value) out[offset + 31] = 1;
};

const encodeString: FieldEncoder = (value, out, offset) => {
  if (typeof value !== 'string') throw new InvalidTypedDataError(`expected string, got ${describe(value)}`);
  out.set(keccak256(textEncoder.encode(value)), offset);
};

const encodeDynamicBytes: FieldEncoder = (value, out, offset) => {
  out.set(keccak256(toBytes(value, 'bytes')), offset);
};

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return code - 55; // A-F; isAddress has already rejected anything else
}

const encodeAddress: FieldEncoder = (value, out, offset) => {
  // isAddress also enforces the EIP-55 checksum on mixed-case input, like viem and ethers.
  if (!isAddress(value)) throw new InvalidTypedDataError(`expected address, got ${describe(value)}`);
  for (let i = 0; i < 20; i++) {
    out[offset + 12 + i] =
      (hexNibble(value.charCodeAt(2 + 2 * i)) << 4) | hexNibble(value.charCodeAt(3 + 2 * i));
  }
};

function atomicEncoder(type: string): FieldEncoder | null {
  switch (type) {
    case 'address':
      return encodeAddress;
    case 'bool':
      return encodeBool;
    case 'string':
      return encodeString;
    case 'bytes':
      return encodeDynamicBytes;
  }
  let m = UINT_RE.exec(type) ?? INT_RE.exec(type);
  if (m) {
    const bits = Number(m[1]);
    if (bits < 8 || bits > 256 || bits % 8 !== 0 || String(bits) !== m[1]) return null;
    return integerEncoder(bits, type.startsWith('int'));
  }
  m = BYTES_N_RE.exec(type);
  if (m) {
    const size = Number(m[1]);
    if (size < 1 || size > 32 || String(size) !== m[1]) return null;
    return fixedBytesEncoder(size);
  }
  return null;
}

/** Compiled view of one `types` object; structs and field encoders are built on first use. */
class TypesCompiler {
  readonly types: TypedDataTypes;
  readonly structs = new Map<string, CompiledStruct>();
  readonly encoders = new Map<string, FieldEncoder>();

  constructor(types: TypedDataTypes) {
    if (typeof types !== 'object' || types === null || Array.isArray(types)) {
      throw new InvalidTypedDataError('types must be an object of struct definitions');
    }
    if (Object.hasOwn(types, 'EIP712Domain')) {
      throw new InvalidTypedDataError('types must not include EIP712Domain; it is derived from the domain');
    }
    this.types = types;
  }

  fieldsOf(name: string): TypedDataField[] {
    if (!Object.hasOwn(this.types, name)) throw new InvalidTypedDataError(`unknown type: ${name}`);
    const fields = this.types[name];
    if (!Array.isArray(fields)) throw new InvalidTypedDataError(`type ${name} must be an array of fields`);
    for (const field of fields) {
      if (typeof field !== 'object' || field === null || typeof field.type !== 'string') {
        throw new InvalidTypedDataError(`type ${name} has a field without a type`);
      }
    }
    return fields;
  }

  isStruct(type: string): boolean {
    return Object.hasOwn(this.types, type);
  }

  struct(name: string): CompiledStruct {
    let s = this.structs.get(name);
    if (s === undefined) {
      s = this.compileStruct(name);
      this.structs.set(name, s);
    }
    return s;
  }

  private compileStruct(name: string): CompiledStruct {
    const encodedType = this.encodeType(name);
    const fields = this.fieldsOf(name);
    return {
      encodedType,
      typeHash: keccak256(textEncoder.encode(encodedType)),
      fieldNames: fields.map((f) => f.name),
      encoders: fields.map((f) => this.encoder(f.type)),
    };
  }

  /** `Name(type1 name1,...)` followed by every referenced struct, sorted by name (EIP-712). */
  encodeType(primary: string): string {
    const deps = new Set<string>();
    const visit = (name: string): void => {
      for (const field of this.fieldsOf(name)) {
        const base = baseType(field.type);
        if (this.isStruct(base) && base !== primary && !deps.has(base)) {
          deps.add(base);
          visit(base);
        }
      }
    };
    visit(primary);
    return [primary, ...[...deps].sort()].map((n) => this.declaration(n)).join('');
  }

  private declaration(name: string): string {
    if (!IDENTIFIER_RE.test(name) || ATOMIC_RE.test(name)) {
      throw new InvalidTypedDataError(`invalid struct name: ${JSON.stringify(name)}`);
    }
    const parts: string[] = [];
    const seen = new Set<string>();
    for (const field of this.fieldsOf(name)) {
      const { name: fieldName, type } = field;
      if (typeof fieldName !== 'string' || !IDENTIFIER_RE.test(fieldName)) {
        throw new InvalidTypedDataError(
          `type ${name} has an invalid field name: ${JSON.stringify(fieldName)}`,
        );
      }
      if (seen.has(fieldName)) throw new InvalidTypedDataError(`type ${name} repeats field ${fieldName}`);
      seen.add(fieldName);
      parts.push(`${type} ${fieldName}`);
    }
    return `${name}(${parts.join(',')})`;
  }

  encoder(type: string): FieldEncoder {
    let enc = this.encoders.get(type);
    if (enc === undefined) {
      enc = this.compileEncoder(type);
      this.encoders.set(type, enc);
    }
    return enc;
  }

  private compileEncoder(type: string): FieldEncoder {
    const arrayMatch = ARRAY_RE.exec(type);
    if (arrayMatch) {
      const inner = arrayMatch[1]!;
      const length = arrayMatch[2] === '' ? -1 : Number(arrayMatch[2]);
      if (length !== -1 && String(length) !== arrayMatch[2])
        throw new InvalidTypedDataError(`invalid array type: ${type}`);
      // Resolved lazily: an array of a recursive struct would otherwise compile itself forever.
      let innerEnc: FieldEncoder | undefined;
      this.checkType(inner);
      return (value, out, offset) => {
        if (!Array.isArray(value))
          throw new InvalidTypedDataError(`expected ${type} as array, got ${describe(value)}`);
        if (length !== -1 && value.length !== length) {
          throw new InvalidTypedDataError(`expected ${length} elements, got ${value.length}`);
        }
        innerEnc ??= this.encoder(inner);
        const buf = new Uint8Array(32 * value.length);
        for (let i = 0; i < value.length; i++) {
          try {
            innerEnc(value[i], buf, 32 * i);
          } catch (e) {
            throw withSegment(e, `[${i}]`);
          }
        }
        out.set(keccak256(buf), offset);
      };
    }
    if (this.isStruct(type)) {
      // Compiled on first use so recursive and mutually recursive structs work.
      return (value, out, offset) => {
        out.set(this.hashStruct(type, value), offset);
      };
    }
    const atomic = atomicEncoder(type);
    if (atomic === null) throw new InvalidTypedDataError(`unknown type: ${type}`);
    return atomic;
  }

  private checkType(type: string): void {
    const base = baseType(type);
    if (!this.isStruct(base) && atomicEncoder(base) === null)
      throw new InvalidTypedDataError(`unknown type: ${type}`);
  }

  hashStruct(name: string, value: unknown): Uint8Array {
    const s = this.struct(name);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      throw new InvalidTypedDataError(`expected ${name} as object, got ${describe(value)}`);
    }
    const data = value as Record<string, unknown>;
    const n = s.encoders.length;
    const buf = new Uint8Array(32 * (n + 1));
    buf.set(s.typeHash, 0);
    for (let i = 0; i < n; i++) {
      const field = s.fieldNames[i]!;
      try {
        if (!Object.hasOwn(data, field)) throw new InvalidTypedDataError('missing field');
        s.encoders[i]!(data[field], buf, 32 * (i + 1));
      } catch (e) {
        throw withSegment(e, `.${field}`);
      }
    }
    return keccak256(buf);
  }
}

function baseType(type: string): string {
  const i = type.indexOf('[');
  return i === -1 ? type : type.slice(0, i);
}

// Types objects are expected to be module constants (one per transaction kind); they are treated
// as immutable once hashed. A WeakMap lets per-request objects be collected.
const compilers = new WeakMap<TypedDataTypes, TypesCompiler>();

function compilerFor(types: TypedDataTypes): TypesCompiler {
  let c = compilers.get(types);
  if (c === undefined) {
    c = new TypesCompiler(types);
    compilers.set(types, c);
  }
  return c;
}

/** EIP-712 `encodeType` of `primaryType`, e.g. `Mail(Person from,Person to,string contents)Person(...)`. */
export function encodeType(types: TypedDataTypes, primaryType: string): string {
  return compilerFor(types).struct(primaryType).encodedType;
}

/** EIP-712 `hashStruct` of `data` as `primaryType`. */
export function hashStruct(
  types: TypedDataTypes,
  primaryType: string,
  data: Record<string, unknown>,
): Uint8Array {
  const compiler = compilerFor(types);
  try {
    return compiler.hashStruct(primaryType, data);
  } catch (e) {
    throw withSegment(e, 'message');
  }
}

const DOMAIN_TYPE_HASH = keccak256(
  textEncoder.encode('EIP712Domain(string name,string version,uint256 chainId)'),
);
const encodeChainId = integerEncoder(256, false);

type DomainCacheEntry = { name: string; version: string; chainId: number | bigint; hash: Uint8Array };
const domainByObject = new WeakMap<TypedDataDomain, DomainCacheEntry>();
const domainByKey = new Map<string, Uint8Array>();
const DOMAIN_KEY_LIMIT = 256;

function computeDomainHash(domain: TypedDataDomain): Uint8Array {
  const buf = new Uint8Array(128);
  buf.set(DOMAIN_TYPE_HASH, 0);
  try {
    encodeString(domain.name, buf, 32);
  } catch (e) {
    throw withSegment(e, 'domain.name');
  }
  try {
    encodeString(domain.version, buf, 64);
  } catch (e) {
    throw withSegment(e, 'domain.version');
  }
  try {
    encodeChainId(domain.chainId, buf, 96);
  } catch (e) {
    throw withSegment(e, 'domain.chainId');
  }
  return keccak256(buf);
}

/** EIP-712 domain separator for `EIP712Domain(string name,string version,uint256 chainId)`. */
export function hashDomain(domain: TypedDataDomain): Uint8Array {
  if (typeof domain !== 'object' || domain === null)
    throw new InvalidTypedDataError('domain must be an object');
  const { name, version, chainId } = domain;
  // Identity cache, re-checked field by field so a mutated domain object is never served stale.
  const hit = domainByObject.get(domain);
  if (hit !== undefined && hit.name === name && hit.version === version && hit.chainId === chainId)
    return hit.hash;
  // Length-prefixed key: unambiguous whatever characters the name and version contain.
  const key =
    typeof name === 'string' && typeof version === 'string'
      ? `${name.length}:${name}${version.length}:${version}${typeof chainId}:${String(chainId)}`
      : undefined;
  let hash = key === undefined ? undefined : domainByKey.get(key);
  if (hash === undefined) {
    hash = computeDomainHash(domain);
    if (key !== undefined) {
      if (domainByKey.size >= DOMAIN_KEY_LIMIT) domainByKey.clear();
      domainByKey.set(key, hash);
    }
  }
  domainByObject.set(domain, { name, version, chainId, hash });
  return hash;
}

/** The 32-byte EIP-712 digest: keccak256(0x1901 || domainSeparator || hashStruct(message)). */
export function hashTypedData(td: TypedData): Uint8Array {
  if (typeof td !== 'object' || td === null) throw new InvalidTypedDataError('typed data must be an object');
  if (typeof td.primaryType !== 'string') throw new InvalidTypedDataError('primaryType must be a string');
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(hashDomain(td.domain), 2);
  buf.set(hashStruct(td.types, td.primaryType, td.message), 34);
  return keccak256(buf);
}

/** Signs the EIP-712 digest of `td`: 65 bytes r || s || v, as `signDigest`. */
export function signTypedData(td: TypedData, sk: Uint8Array): Uint8Array {
  return signDigest(hashTypedData(td), sk);
}

/** The EIP712Domain type derived from every domain, for wallets (eth_signTypedData_v4) that want it spelled out. */
export const EIP712_DOMAIN_FIELDS: readonly TypedDataField[] = Object.freeze([
  Object.freeze({ name: 'name', type: 'string' }),
  Object.freeze({ name: 'version', type: 'string' }),
  Object.freeze({ name: 'chainId', type: 'uint256' }),
]);
