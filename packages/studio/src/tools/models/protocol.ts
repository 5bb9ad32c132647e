// Messages between the Models page and its worker (worker.ts).

import type { GraphSummary, TierRow } from './summary.ts';

export type WorkerRequest = { id: number; type: 'inspect'; bytes: Uint8Array };

export type InspectResult = { summary: GraphSummary; tiers: TierRow[] | null; tiersNote?: string };

export type WorkerResponse =
  | { id: number; ok: true; result: InspectResult }
  | { id: number; ok: false; error: string };
