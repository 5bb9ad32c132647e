// Worker thread of the development setup (setup.ts): builds comb table rows and does fixed-base
// scalar multiplications on its own instance of snarkjs' BN254 wasm (setup-wasm.ts). Messages are
// handled in order; each reply carries the request's id.
import { parentPort } from 'node:worker_threads';
import { Bn254Wasm, type Group } from './setup-wasm.ts';

export type SetupWorkerRequest =
  | { id: number; op: 'init'; code: Uint8Array | WebAssembly.Module }
  | {
      id: number;
      op: 'rows';
      group: Group;
      gen: Uint8Array;
      w: number;
      from: number;
      to: number;
      out: SharedArrayBuffer;
      offset: number;
    }
  | { id: number; op: 'table'; group: Group; w: number; table: SharedArrayBuffer }
  | { id: number; op: 'mul'; group: Group; scalars: Uint8Array; out: SharedArrayBuffer; offset: number };

/** `cpuMs`: this thread's CPU time for the request. */
export type SetupWorkerReply = { id: number; cpuMs?: number; error?: string };

const port = parentPort;
if (!port) throw new Error('setup-worker.ts runs as a worker thread');
let wasm: Bn254Wasm | undefined;
const tables = new Map<Group, { p: number; w: number }>();

let queue: Promise<void> = Promise.resolve();
port.on('message', (m: SetupWorkerRequest) => {
  queue = queue.then(() => handle(m));
});

async function handle(m: SetupWorkerRequest): Promise<void> {
  if (!port) return;
  try {
    const c0 = process.threadCpuUsage();
    if (m.op === 'init') wasm = await Bn254Wasm.create(m.code);
    else {
      if (!wasm) throw new Error('setup worker not initialised');
      if (m.op === 'rows') {
        const rows = wasm.combRows(m.group, m.gen, m.w, m.from, m.to);
        new Uint8Array(m.out, m.offset, rows.length).set(rows);
      } else if (m.op === 'table') {
        // Tables are set once per group, before any multiplication (the allocator only grows).
        const p = wasm.alloc(m.table.byteLength);
        wasm.set(p, new Uint8Array(m.table));
        tables.set(m.group, { p, w: m.w });
      } else {
        const t = tables.get(m.group);
        if (!t) throw new Error(`no ${m.group} table`);
        wasm.combMul(m.group, t.p, t.w, m.scalars, new Uint8Array(m.out, m.offset));
      }
    }
    const c = process.threadCpuUsage(c0);
    const reply: SetupWorkerReply = { id: m.id, cpuMs: (c.user + c.system) / 1000 };
    port.postMessage(reply);
  } catch (e) {
    port.postMessage({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
}
