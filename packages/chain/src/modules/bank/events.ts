import type { Address } from '@aivm/crypto';
import type { ExecContext } from '../../module.ts';

export function emitTransfer(ctx: ExecContext, from: Address, to: Address, amountWei: bigint): void {
  ctx.emit('bank', 'transfer', { from, to, amount: amountWei.toString() });
}
