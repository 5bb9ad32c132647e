// Slashing parameters: defaults in one place, each bounded (genesis and governance call validate).

import { t } from '@aivm/codec';
import { DEC } from '../../dec.ts';
import { ModuleError } from '../../errors.ts';
import { defineParams } from '../../module.ts';

export const slashingParams = defineParams({
  schema: t.struct('SlashingParams', {
    /** Sliding window of blocks over which a validator's signatures are counted. */
    signedBlocksWindow: t.uint32,
    /** Least fraction (DEC-scaled) of the window a validator must sign to stay unjailed. */
    minSignedPerWindow: t.uint256,
    /** Jail time (block time) after downtime. */
    downtimeJailDurationMs: t.uint64,
    /** Fraction (DEC-scaled) of stake burned for a double sign (and the validator tombstoned). */
    slashFractionDoubleSign: t.uint256,
    /** Fraction (DEC-scaled) of stake burned for downtime. */
    slashFractionDowntime: t.uint256,
    /** Evidence older than this many blocks is refused. */
    maxEvidenceAgeBlocks: t.uint64,
    /** Fraction (DEC-scaled) of stake burned for an attestation equivocation (and the validator tombstoned). */
    slashFractionAttestation: t.uint256,
  }),
  defaults: {
    signedBlocksWindow: 10_000,
    minSignedPerWindow: DEC / 20n, // 5%
    downtimeJailDurationMs: 600_000n,
    slashFractionDoubleSign: DEC / 20n, // 5%
    slashFractionDowntime: DEC / 10_000n, // 0.01%
    maxEvidenceAgeBlocks: 100_000n,
    slashFractionAttestation: DEC / 20n, // 5%
  },
  validate(p) {
    if (p.signedBlocksWindow < 4 || p.signedBlocksWindow > 10_000)
      throw new ModuleError('slashing.signedBlocksWindow must be within 4..10000');
    if (p.minSignedPerWindow > DEC) throw new ModuleError('slashing.minSignedPerWindow must be <= 1');
    if (p.downtimeJailDurationMs < 1_000n || p.downtimeJailDurationMs > 30n * 86_400_000n)
      throw new ModuleError('slashing.downtimeJailDurationMs must be within 1 s..30 days');
    if (p.slashFractionDoubleSign > DEC)
      throw new ModuleError('slashing.slashFractionDoubleSign must be <= 1');
    if (p.slashFractionDowntime > DEC / 10n)
      throw new ModuleError('slashing.slashFractionDowntime must be <= 0.1');
    if (p.slashFractionAttestation > DEC)
      throw new ModuleError('slashing.slashFractionAttestation must be <= 1');
    if (p.maxEvidenceAgeBlocks < 1n || p.maxEvidenceAgeBlocks > 10_000_000n)
      throw new ModuleError('slashing.maxEvidenceAgeBlocks must be within 1..10^7');
  },
});
export type SlashingParams = typeof slashingParams.defaults;
