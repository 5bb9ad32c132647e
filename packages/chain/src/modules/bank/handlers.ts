import type { Infer } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { isModuleAccount } from '../../accounts.ts';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import { bankEvents } from './events.ts';
import type { BankMultiSend, BankSend } from './messages.ts';
import { bankParams } from './params.ts';
import { transfer } from './store.ts';

/** Module accounts hold only what their module moved there (see MODULE_ACCOUNTS). */
function requireRecipient(to: Address): void {
  requireThat(!isModuleAccount(to), `${to} is a module account and takes no transfers`);
}

export async function handleSend(
  ctx: ExecContext,
  msg: Infer<typeof BankSend>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, 'bank', bankParams);
  requireThat(params.sendEnabled, 'transfers are disabled by governance');
  requireThat(msg.amount > 0n, 'amount must be positive');
  requireRecipient(msg.to);
  await transfer(ctx, sender, msg.to, msg.amount);
  bankEvents.emit(ctx, 'transfer', { from: sender, to: msg.to, amount: msg.amount.toString() });
}

export async function handleMultiSend(
  ctx: ExecContext,
  msg: Infer<typeof BankMultiSend>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, 'bank', bankParams);
  requireThat(params.sendEnabled, 'transfers are disabled by governance');
  requireThat(msg.outputs.length > 0, 'no outputs');
  requireThat(
    msg.outputs.length <= params.maxMultiSendOutputs,
    `at most ${params.maxMultiSendOutputs} outputs per multi-send`,
  );
  for (const out of msg.outputs) {
    requireThat(out.amount > 0n, 'every amount must be positive');
    requireRecipient(out.to);
    await transfer(ctx, sender, out.to, out.amount);
    bankEvents.emit(ctx, 'transfer', { from: sender, to: out.to, amount: out.amount.toString() });
  }
}
