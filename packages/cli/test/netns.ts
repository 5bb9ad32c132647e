// Linux network namespaces for network-fault tests on real sockets: each node gets its own
// namespace with a management link (RPC, reachable from the test process) and a data link (p2p)
// that the test can cut, split or impair. Everything is created under a per-run name prefix and
// removed on close and on process exit; namespaces left by a crashed run are removed by the next.
//
//   root namespace (test process)          hub namespace                   node namespace i
//   <rootIf> 10.213.X.254 ---- veth ---- [mgmt bridge] ---- veth ---- mgmt0 10.213.X.(i+1)  RPC
//                                         [side0]=trunk=[side1] -- veth -- eth0 10.213.0.(i+1)  p2p
//
// Data planes: 'switch' puts each node's eth0 on one of two bridges joined by a trunk link (link
// down on the trunk splits the network in two, link down on a node's port isolates it). 'relay'
// carries p2p in VXLAN over the management link to a UDP relay in the test process that delays
// and drops packets as `tc netem delay D J loss L%` would on every node's egress: the kernels this
// project runs on are built without sch_netem (CONFIG_NET_SCH_NETEM unset, no modules), while
// VXLAN is built in. Nothing is routed beyond these namespaces: no namespace has a default route
// and the root namespace only gains the connected route of the run's management subnet.

import { execFile, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Every namespace of this project's tests starts with this (then `<pid>-<n>`). */
const PREFIX = 'aivmnt-';
/** Data addresses: 10.213.0.(i+1) inside the node namespaces only. */
const DATA_NET = '10.213.0';
const VXLAN_ID = 42;
/** Locally administered MACs of the nodes' VXLAN devices; the last byte is the node index + 1. */
const MAC_PREFIX = [0x02, 0xa1, 0x00, 0x00, 0x00];

async function ip(args: string[]): Promise<string> {
  try {
    return (await execFileAsync('ip', args, { timeout: 20_000 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: string };
    if (e.code === 'ENOENT') throw new Error('`ip` (iproute2) is not installed');
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

function ipSync(args: string[]): void {
  spawnSync('ip', args, { stdio: 'ignore', timeout: 20_000 });
}

/** Why namespace tests cannot run here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespace tests need Linux';
  if (process.getuid?.() !== 0) return 'network namespace tests need root (they run ip netns add)';
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    await ip(['netns', 'add', probe]);
    await ip(['-n', probe, 'link', 'add', 'name', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1']);
    await ip(['-n', probe, 'link', 'add', 'name', 'probebr', 'type', 'bridge']);
    await ip([
      '-n',
      probe,
      'link',
      'add',
      'name',
      'probevx',
      'type',
      'vxlan',
      'id',
      '1',
      'dstport',
      '4789',
      'dev',
      'probe0',
    ]);
    return undefined;
  } catch (err) {
    return `network namespaces with veth, bridge and vxlan are unavailable: ${(err as Error).message}`;
  } finally {
    ipSync(['netns', 'del', probe]);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the namespaces of earlier test processes that died without cleaning up (SIGKILL), after
 * killing the nodes those runs left inside them.
 */
async function removeStale(): Promise<void> {
  for (const line of (await ip(['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0]!;
    const m = /^aivmnt-(\d+)-/.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const pids = await ip(['netns', 'pids', name]).catch(() => '');
    for (const pid of pids.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await ip(['netns', 'del', name]).catch(() => undefined);
  }
}

/** A third octet X such that 10.213.X.0/24 appears nowhere in the root namespace. */
async function freeManagementNet(): Promise<number> {
  const used = (await ip(['-4', '-o', 'addr', 'show'])) + (await ip(['-4', 'route', 'show', 'table', 'all']));
  for (let attempt = 0; attempt < 100; attempt++) {
    const x = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.213.${x}.`)) return x;
  }
  throw new Error('no free 10.213.X.0/24 subnet for the management network');
}

/** What `tc netem delay <delayMs>ms <jitterMs>ms loss <lossPercent>%` would do to each packet. */
export type Impairment = { delayMs: number; jitterMs: number; lossPercent: number };

/**
 * A VXLAN switch in user space: forwards each frame to the node owning the destination MAC (or
 * floods broadcasts), after dropping it with probability lossPercent and holding it for a delay
 * drawn uniformly from delayMs ± jitterMs (netem's default jitter; packets may be reordered, as
 * with netem).
 */
class Relay {
  readonly socket: Socket;
  readonly port: number;
  readonly #vteps: string[];
  readonly #timers = new Set<NodeJS.Timeout>();
  impairment: Impairment = { delayMs: 0, jitterMs: 0, lossPercent: 0 };
  readonly stats = { forwarded: 0, dropped: 0 };

  private constructor(socket: Socket, vteps: string[]) {
    this.socket = socket;
    this.port = socket.address().port;
    this.#vteps = vteps;
    socket.on('message', (msg, from) => this.#onFrame(msg, from.address));
  }

  static async open(address: string, vteps: string[]): Promise<Relay> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    return new Relay(socket, vteps);
  }

  #onFrame(msg: Buffer, fromAddress: string): void {
    const from = this.#vteps.indexOf(fromAddress);
    if (from < 0 || msg.length < 8 + 14) return;
    completeTcpChecksum(msg.subarray(8));
    const dst = msg.subarray(8, 14);
    const owner = MAC_PREFIX.every((b, k) => dst[k] === b) ? dst[5]! - 1 : -1;
    const targets =
      owner >= 0 && owner < this.#vteps.length
        ? [owner]
        : this.#vteps.map((_, i) => i).filter((i) => i !== from);
    const { delayMs, jitterMs, lossPercent } = this.impairment;
    for (const to of targets) {
      if (to === from) continue;
      if (Math.random() * 100 < lossPercent) {
        this.stats.dropped++;
        continue;
      }
      const send = () => {
        this.stats.forwarded++;
        this.socket.send(msg, this.port, this.#vteps[to]!);
      };
      const wait = Math.max(0, delayMs + (Math.random() * 2 - 1) * jitterMs);
      if (wait === 0) send();
      else {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          send();
        }, wait);
        this.#timers.add(timer);
      }
    }
  }

  close(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.socket.close();
  }
}

/**
 * Writes the TCP checksum of an Ethernet frame carrying IPv4/TCP. Frames leave the nodes' VXLAN
 * devices with checksum offload: the kernel leaves the TCP checksum for a NIC to fill in, and a
 * frame that reaches a user-space socket instead of a NIC arrives with it unfilled. The receiving
 * kernel would drop such a segment, so the relay does the NIC's part.
 */
function completeTcpChecksum(frame: Buffer): void {
  if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== 0x0800) return;
  const ipHeader = frame.subarray(14);
  const headerBytes = (ipHeader[0]! & 0x0f) * 4;
  const totalBytes = ipHeader.readUInt16BE(2);
  const fragment = ipHeader.readUInt16BE(6) & 0x3fff;
  if (ipHeader[9] !== 6 || fragment !== 0 || totalBytes > ipHeader.length || totalBytes < headerBytes + 20)
    return;
  const segment = ipHeader.subarray(headerBytes, totalBytes);
  segment.writeUInt16BE(0, 16);
  // one's-complement sum over the pseudo-header (addresses, protocol, length) and the segment
  let sum = 6 + segment.length;
  for (let k = 12; k < 20; k += 2) sum += ipHeader.readUInt16BE(k);
  for (let k = 0; k + 1 < segment.length; k += 2) sum += segment.readUInt16BE(k);
  if (segment.length % 2 === 1) sum += segment[segment.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  segment.writeUInt16BE(~sum & 0xffff, 16);
}

const open = new Set<NetnsLab>();
process.once('exit', () => {
  for (const lab of open) lab.removeSync();
});

let labs = 0;

export type DataPlane =
  /** side[i] (0 or 1): which of the two bridges node i's data link plugs into. */
  { kind: 'switch'; sides: number[] } | { kind: 'relay' };

/** A set of node namespaces wired as in the file comment. */
export class NetnsLab {
  readonly nodes: number;
  readonly #prefix: string;
  readonly #rootIf: string;
  readonly #mgmtNet: number;
  #relay: Relay | undefined;
  #removed = false;

  private constructor(nodes: number, prefix: string, rootIf: string, mgmtNet: number) {
    this.nodes = nodes;
    this.#prefix = prefix;
    this.#rootIf = rootIf;
    this.#mgmtNet = mgmtNet;
  }

  static async create(opts: { nodes: number; dataPlane: DataPlane }): Promise<NetnsLab> {
    if (opts.nodes < 1 || opts.nodes > 200) throw new Error('1..200 nodes');
    await removeStale();
    const seq = labs++;
    const prefix = `${PREFIX}${process.pid}-${seq}-`;
    const rootIf = `avm${process.pid}x${seq}`.slice(0, 15);
    const x = await freeManagementNet();
    const lab = new NetnsLab(opts.nodes, prefix, rootIf, x);
    open.add(lab);
    try {
      await lab.#build(opts.dataPlane);
      if (opts.dataPlane.kind === 'relay') {
        const vteps = Array.from({ length: opts.nodes }, (_, i) => lab.hosts(i).rpc);
        lab.#relay = await Relay.open(lab.#rootAddress, vteps);
        for (let i = 0; i < opts.nodes; i++) await lab.#addVxlan(i, lab.#relay.port);
      }
      return lab;
    } catch (err) {
      await lab.close();
      throw err;
    }
  }

  get hub(): string {
    return `${this.#prefix}hub`;
  }

  ns(i: number): string {
    return `${this.#prefix}n${i}`;
  }

  get #rootAddress(): string {
    return `10.213.${this.#mgmtNet}.254`;
  }

  /** Node i's p2p (data) and RPC (management) addresses. */
  hosts(i: number): { p2p: string; rpc: string } {
    return { p2p: `${DATA_NET}.${i + 1}`, rpc: `10.213.${this.#mgmtNet}.${i + 1}` };
  }

  /** Runs a command inside node i's namespace. */
  launcher(i: number): string[] {
    return ['ip', 'netns', 'exec', this.ns(i)];
  }

  /** For Network.create. */
  get placement(): { hosts: (i: number) => { p2p: string; rpc: string }; launcher: (i: number) => string[] } {
    return { hosts: (i) => this.hosts(i), launcher: (i) => this.launcher(i) };
  }

  async #build(plane: DataPlane): Promise<void> {
    const hub = this.hub;
    await ip(['netns', 'add', hub]);
    await ip(['-n', hub, 'link', 'set', 'lo', 'up']);
    for (const br of ['mgmt', 'side0', 'side1']) {
      await ip(['-n', hub, 'link', 'add', 'name', br, 'type', 'bridge']);
      await ip(['-n', hub, 'link', 'set', br, 'up']);
    }
    await ip(['-n', hub, 'link', 'add', 'name', 'trunk0', 'type', 'veth', 'peer', 'name', 'trunk1']);
    await ip(['-n', hub, 'link', 'set', 'trunk0', 'master', 'side0', 'up']);
    await ip(['-n', hub, 'link', 'set', 'trunk1', 'master', 'side1', 'up']);
    await ip(['link', 'add', 'name', this.#rootIf, 'type', 'veth', 'peer', 'name', 'mroot', 'netns', hub]);
    await ip(['-n', hub, 'link', 'set', 'mroot', 'master', 'mgmt', 'up']);
    await ip(['addr', 'add', `${this.#rootAddress}/24`, 'dev', this.#rootIf]);
    await ip(['link', 'set', this.#rootIf, 'up']);
    for (let i = 0; i < this.nodes; i++) {
      const ns = this.ns(i);
      await ip(['netns', 'add', ns]);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip([
        '-n',
        hub,
        'link',
        'add',
        'name',
        `m${i}`,
        'type',
        'veth',
        'peer',
        'name',
        'mgmt0',
        'netns',
        ns,
      ]);
      await ip(['-n', hub, 'link', 'set', `m${i}`, 'master', 'mgmt', 'up']);
      // isolated bridge ports reach only the root's port: nodes cannot talk around a cut data link
      await ip(['-n', hub, 'link', 'set', `m${i}`, 'type', 'bridge_slave', 'isolated', 'on']);
      await ip(['-n', ns, 'addr', 'add', `${this.hosts(i).rpc}/24`, 'dev', 'mgmt0']);
      await ip(['-n', ns, 'link', 'set', 'mgmt0', 'up']);
      if (plane.kind === 'switch') {
        const side = plane.sides[i] ?? 0;
        await ip([
          '-n',
          hub,
          'link',
          'add',
          'name',
          `d${i}`,
          'type',
          'veth',
          'peer',
          'name',
          'eth0',
          'netns',
          ns,
        ]);
        await ip(['-n', hub, 'link', 'set', `d${i}`, 'master', `side${side === 1 ? 1 : 0}`, 'up']);
        await ip(['-n', ns, 'addr', 'add', `${this.hosts(i).p2p}/24`, 'dev', 'eth0']);
        await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      }
    }
  }

  async #addVxlan(i: number, relayPort: number): Promise<void> {
    const ns = this.ns(i);
    const mac = [...MAC_PREFIX, i + 1].map((b) => b.toString(16).padStart(2, '0')).join(':');
    // nolearning: every frame goes to the relay, which alone decides where it goes next
    await ip([
      ...['-n', ns, 'link', 'add', 'name', 'vx0', 'address', mac, 'type', 'vxlan', 'id', String(VXLAN_ID)],
      ...['local', this.hosts(i).rpc, 'remote', this.#rootAddress, 'dstport', String(relayPort)],
      ...['dev', 'mgmt0', 'nolearning'],
    ]);
    await ip(['-n', ns, 'addr', 'add', `${this.hosts(i).p2p}/24`, 'dev', 'vx0']);
    await ip(['-n', ns, 'link', 'set', 'vx0', 'up']);
  }

  /** Switch plane: takes the trunk between the two sides down (a partition) or up again (heal). */
  async setTrunk(up: boolean): Promise<void> {
    await ip(['-n', this.hub, 'link', 'set', 'trunk0', up ? 'up' : 'down']);
  }

  /** Switch plane: takes node i's data link down (the node is cut off) or up again. */
  async setDataLink(i: number, up: boolean): Promise<void> {
    await ip(['-n', this.hub, 'link', 'set', `d${i}`, up ? 'up' : 'down']);
  }

  /** Relay plane: from now on every data packet is delayed and dropped as `impairment` says. */
  impair(impairment: Impairment): void {
    if (!this.#relay) throw new Error('impair needs the relay data plane');
    this.#relay.impairment = impairment;
  }

  /** Relay plane: data packets forwarded and dropped so far. */
  get relayStats(): { forwarded: number; dropped: number } {
    if (!this.#relay) throw new Error('no relay data plane');
    return { ...this.#relay.stats };
  }

  /** Removes the namespaces (with their links) and the root link; stop the nodes first. */
  async close(): Promise<void> {
    if (this.#removed) return;
    this.#relay?.close();
    const names = [this.hub, ...Array.from({ length: this.nodes }, (_, i) => this.ns(i))];
    for (const name of names) await ip(['netns', 'del', name]).catch(() => undefined);
    await ip(['link', 'del', this.#rootIf]).catch(() => undefined);
    this.#removed = true;
    open.delete(this);
  }

  /** close() for the exit handler, where nothing asynchronous runs any more. */
  removeSync(): void {
    if (this.#removed) return;
    ipSync(['netns', 'del', this.hub]);
    for (let i = 0; i < this.nodes; i++) ipSync(['netns', 'del', this.ns(i)]);
    ipSync(['link', 'del', this.#rootIf]);
    this.#removed = true;
  }
}
