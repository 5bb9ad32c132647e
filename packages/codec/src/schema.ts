// Schemas of on-chain types. One schema per type is the single source for its canonical binary
// encoding, its EIP-712 typed-data shape, its JSON form (RPC, CLI) and its documentation.

export type UintBits = 8 | 16 | 32 | 64 | 128 | 256;
export type UintType<B extends UintBits = UintBits> = { kind: 'uint'; bits: B };
export type AddressType = { kind: 'address' };
export type BoolType = { kind: 'bool' };
export type Bytes32Type = { kind: 'bytes32' };
export type BytesType = { kind: 'bytes'; max: number };
export type StringType = { kind: 'string'; max: number };
export type ArrayType<E extends FieldType = FieldType> = { kind: 'array'; of: E; max: number };
export type Fields = { readonly [name: string]: FieldType };
export type StructType<F extends Fields = Fields> = { kind: 'struct'; name: string; fields: F };
export type FieldType =
  | UintType
  | AddressType
  | BoolType
  | Bytes32Type
  | BytesType
  | StringType
  | { kind: 'array'; of: FieldType; max: number }
  | { kind: 'struct'; name: string; fields: Fields };

/** The TypeScript value type a schema describes. */
export type Infer<T> =
  T extends UintType<8 | 16 | 32>
    ? number
    : T extends UintType
      ? bigint
      : T extends AddressType
        ? `0x${string}`
        : T extends BoolType
          ? boolean
          : T extends Bytes32Type | BytesType
            ? Uint8Array
            : T extends StringType
              ? string
              : T extends ArrayType<infer E>
                ? Infer<E>[]
                : T extends StructType<infer F>
                  ? { -readonly [K in keyof F]: Infer<F[K]> }
                  : never;

export const DEFAULT_MAX_BYTES = 65_536;
export const DEFAULT_MAX_STRING = 1_024;
export const DEFAULT_MAX_ITEMS = 256;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

export const t = {
  uint8: { kind: 'uint', bits: 8 } as UintType<8>,
  uint16: { kind: 'uint', bits: 16 } as UintType<16>,
  uint32: { kind: 'uint', bits: 32 } as UintType<32>,
  uint64: { kind: 'uint', bits: 64 } as UintType<64>,
  uint128: { kind: 'uint', bits: 128 } as UintType<128>,
  uint256: { kind: 'uint', bits: 256 } as UintType<256>,
  address: { kind: 'address' } as AddressType,
  bool: { kind: 'bool' } as BoolType,
  bytes32: { kind: 'bytes32' } as Bytes32Type,
  bytes: (max = DEFAULT_MAX_BYTES): BytesType => ({ kind: 'bytes', max }),
  string: (max = DEFAULT_MAX_STRING): StringType => ({ kind: 'string', max }),
  array: <E extends FieldType>(of: E, max = DEFAULT_MAX_ITEMS): ArrayType<E> => ({ kind: 'array', of, max }),
  /** Field order is the declaration order of `fields`; it is part of the encoding. */
  struct: <F extends Fields>(name: string, fields: F): StructType<F> => {
    if (!NAME_RE.test(name)) throw new Error(`invalid struct name: ${name}`);
    for (const field of Object.keys(fields)) {
      if (!NAME_RE.test(field)) throw new Error(`invalid field name ${name}.${field}`);
    }
    return { kind: 'struct', name, fields };
  },
};

/** Solidity-style type name used in EIP-712. */
export function typeName(type: FieldType): string {
  switch (type.kind) {
    case 'uint':
      return `uint${type.bits}`;
    case 'array':
      return `${typeName(type.of)}[]`;
    case 'struct':
      return type.name;
    default:
      return type.kind;
  }
}
