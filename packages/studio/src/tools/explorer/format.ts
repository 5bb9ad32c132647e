// How the explorer shows chain values: CGPT amounts, hashes, times, rates.

const WEI_PER_CGPT = 10n ** 18n;

/** Wei as CGPT with up to `decimals` decimals, trailing zeros dropped, thousands grouped. */
export function formatCgpt(wei: bigint, decimals = 6): string {
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const whole = abs / WEI_PER_CGPT;
  const frac = (abs % WEI_PER_CGPT).toString().padStart(18, '0').slice(0, decimals).replace(/0+$/, '');
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const shown = frac ? `${grouped}.${frac}` : grouped;
  if (abs !== 0n && shown === '0') return `${negative ? '-' : ''}<0.${'0'.repeat(decimals - 1)}1`;
  return negative ? `-${shown}` : shown;
}

/** 0x1234…abcd */
export function shortHex(hex: string, keep = 6): string {
  if (hex.length <= 2 + keep * 2 + 1) return hex;
  return `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}

/** "12 s ago", "3 min ago", "2 h ago", or the date. */
export function timeAgo(timeMs: bigint | number, nowMs = Date.now()): string {
  const ms = Number(timeMs);
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function formatTime(timeMs: bigint | number): string {
  return new Date(Number(timeMs))
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

/** A rate with 18 decimals (1e18 = 100 %) as a percentage. */
export function formatRate(rate: bigint | string): string {
  const r = typeof rate === 'bigint' ? rate : /^\d+$/.test(rate) ? BigInt(rate) : 0n;
  const hundredths = (r * 10_000n) / WEI_PER_CGPT; // percent with two decimals
  const whole = hundredths / 100n;
  const frac = (hundredths % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} %`;
}

/** Grouped digits: 1234567 is 1,234,567. */
export function formatInt(n: bigint | number | string): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A message field's value for people: strings as they are, anything else as compact JSON. */
export function fieldText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
}
