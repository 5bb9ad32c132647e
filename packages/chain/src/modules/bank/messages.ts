import { t } from '@aivm/codec';

export const BankSend = t.struct('BankSend', { to: t.address, amount: t.uint256 });

export const BankOutput = t.struct('BankOutput', { to: t.address, amount: t.uint256 });
export const BankMultiSend = t.struct('BankMultiSend', { outputs: t.array(BankOutput, 1_000) });
