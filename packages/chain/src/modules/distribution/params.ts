// Distribution parameters: every default in one place, and the bounds governance must respect.

import { t } from '@aivm/codec';
import { DEC } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

const WEI_PER_CGPT = 10n ** 18n;

/** Highest emission governance may set: keeps a captured governance from printing unbounded supply. */
export const MAX_EMISSION_PER_BLOCK_WEI = 1_000n * WEI_PER_CGPT;

export const distributionParams = defineParams({
  schema: t.struct('DistributionParams', {
    /**
     * CGPT newly minted every block and distributed with that block's fees. A fixed amount per
     * block (not an annual rate) keeps the schedule a pure function of height; governance changes
     * it to follow a schedule.
     */
    emissionPerBlockWei: t.uint256,
    /** Share of every block's rewards (fees + emission) sent to the community pool, DEC fixed point. */
    communityTax: t.uint256,
    withdrawEnabled: t.bool,
  }),
  defaults: { emissionPerBlockWei: WEI_PER_CGPT, communityTax: (2n * DEC) / 100n, withdrawEnabled: true },
  validate(p) {
    if (p.emissionPerBlockWei > MAX_EMISSION_PER_BLOCK_WEI) {
      throw new ModuleError(`distribution.emissionPerBlockWei must be <= ${MAX_EMISSION_PER_BLOCK_WEI}`);
    }
    if (p.communityTax > DEC / 2n) {
      throw new ModuleError('distribution.communityTax must be within 0..0.5 (DEC fixed point)');
    }
  },
});
