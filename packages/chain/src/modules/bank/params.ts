import { t } from '@aivm/codec';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

export const bankParams = defineParams({
  schema: t.struct('BankParams', { sendEnabled: t.bool, maxMultiSendOutputs: t.uint32 }),
  defaults: { sendEnabled: true, maxMultiSendOutputs: 100 },
  validate(p) {
    if (p.maxMultiSendOutputs < 1 || p.maxMultiSendOutputs > 1_000) {
      throw new ModuleError('bank.maxMultiSendOutputs must be within 1..1000');
    }
  },
});
