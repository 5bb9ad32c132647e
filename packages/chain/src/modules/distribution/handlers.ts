import type { Infer } from '@aivm/codec';
import type { Address } from '@aivm/crypto';
import { type ExecContext, readParams, requireThat } from '../../module.ts';
import type { StakingView } from './expected.ts';
import { initDelegation, withdrawCommission, withdrawDelegationRewards } from './f1.ts';
import type { DistributionWithdrawRewards } from './messages.ts';
import { distributionParams } from './params.ts';

export async function handleWithdrawRewards(
  ctx: ExecContext,
  view: StakingView,
  msg: Infer<typeof DistributionWithdrawRewards>,
  sender: Address,
): Promise<void> {
  const params = await readParams(ctx, 'distribution', distributionParams);
  requireThat(params.withdrawEnabled, 'reward withdrawals are disabled by governance');
  await withdrawDelegationRewards(ctx, view, sender, msg.validator);
  await initDelegation(ctx, view, sender, msg.validator);
}

export async function handleWithdrawCommission(ctx: ExecContext, sender: Address): Promise<void> {
  const params = await readParams(ctx, 'distribution', distributionParams);
  requireThat(params.withdrawEnabled, 'reward withdrawals are disabled by governance');
  await withdrawCommission(ctx, sender);
}
