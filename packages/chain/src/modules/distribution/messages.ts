import { t } from '@aivm/codec';

export const DistributionWithdrawRewards = t.struct('DistributionWithdrawRewards', { validator: t.address });
export const DistributionWithdrawCommission = t.struct('DistributionWithdrawCommission', {});
