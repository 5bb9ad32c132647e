// Prometheus metrics of a node; names carry their units.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type NodeMetrics = ReturnType<typeof createMetrics>;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'aivm_process_' });
  return {
    registry,
    height: new Gauge({
      name: 'aivm_block_height',
      help: 'Height of the latest committed block',
      registers: [registry],
    }),
    blocks: new Counter({
      name: 'aivm_blocks_committed_total',
      help: 'Blocks committed',
      registers: [registry],
    }),
    txs: new Counter({
      name: 'aivm_txs_committed_total',
      help: 'Transactions committed',
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'aivm_block_commit_duration_seconds',
      help: 'Time to build, execute and persist a block',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    mempoolTxs: new Gauge({ name: 'aivm_mempool_txs', help: 'Pending transactions', registers: [registry] }),
    mempoolBytes: new Gauge({
      name: 'aivm_mempool_bytes',
      help: 'Pending transaction bytes',
      registers: [registry],
    }),
    rejectedTxs: new Counter({
      name: 'aivm_txs_rejected_total',
      help: 'Transactions refused at admission, by error code',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
