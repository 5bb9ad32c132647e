// Human-readable or --json output for every command.

export type Printer = { json: boolean };

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  return value;
}

export function print(p: Printer, value: unknown, human: () => string): void {
  process.stdout.write(p.json ? `${JSON.stringify(value, jsonReplacer, 2)}\n` : `${human()}\n`);
}

/** 18-decimal CGPT amount from wei, trailing zeros trimmed. */
export function formatCgpt(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = (wei % 10n ** 18n).toString().padStart(18, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole.toString();
}

/** Parses "1.5" CGPT into wei; rejects more than 18 decimals, signs and junk. */
export function parseCgpt(text: string): bigint {
  const m = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/.exec(text.trim());
  if (!m) throw new Error(`invalid CGPT amount "${text}" (use e.g. 1.5)`);
  return BigInt(m[1]!) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0'));
}
