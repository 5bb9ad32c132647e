import { t } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

export const authParams = defineParams({
  schema: t.struct('AuthParams', {
    minGasPriceWei: t.uint256,
    maxTxGas: t.uint64,
    blockGasLimit: t.uint64,
  }),
  defaults: { minGasPriceWei: 1_000_000_000n, maxTxGas: 10_000_000n, blockGasLimit: 200_000_000n },
  validate(p) {
    if (p.maxTxGas < 50_000n) throw new ModuleError('auth.maxTxGas must be at least 50000');
    if (p.blockGasLimit < p.maxTxGas) throw new ModuleError('auth.blockGasLimit must be >= auth.maxTxGas');
    if (p.blockGasLimit > 10_000_000_000n) throw new ModuleError('auth.blockGasLimit must be <= 10^10');
  },
});
