/**
 * The nodes the scheduler places on. With the local executor: this machine (its GPU inventory, CPUs and memory, from
 * config). With an executor that has an inventory of its own (Slurm: `scontrol show node`), its nodes, read again every
 * `refreshMs`: we place, the engine runs, so the scheduler must see every node the engine could run a replica on, and
 * what others hold there outside the platform (another Slurm user's allocation) as taken.
 *
 * Two views: `capacity` (each usable node whole: what admission checks a job could ever fit on) and `available`
 * (capacity less what is held outside the platform: what the scheduler places on). Each keeps its array identity until
 * the inventory changes, since the scheduler caches a compiled topology by that identity.
 */
import { noopLogger, type Clock, type Logger } from "@switchyard/core";
import type { ExecutorNode } from "@switchyard/executors";
import type { NodeInfo } from "@switchyard/scheduler";

export interface ClusterNodesOptions {
  /** This machine: the one node when there is no inventory. */
  local: NodeInfo;
  /** The executor's inventory, when it has one. */
  inventory?: () => Promise<ExecutorNode[]>;
  /** How often the inventory is read again (default 5 s). */
  refreshMs?: number;
  /** Called when a read changed what is available (the scheduler should run a cycle). */
  onChange?: () => void;
  clock: Clock;
  logger?: Logger;
}

/** Node states in which nothing new may be placed. */
const UNUSABLE = /^(down|drain|drained|draining|fail|failing|future|not_responding|power|unknown)/i;

export class ClusterNodes {
  private capacityList: NodeInfo[];
  private availableList: NodeInfo[];
  private key = "";
  private timer: ReturnType<Clock["setTimeout"]> | undefined;
  private closed = false;
  private readonly logger: Logger;

  constructor(private readonly o: ClusterNodesOptions) {
    // With an inventory, no node until it was read: this machine is not one of the engine's nodes.
    this.capacityList = o.inventory ? [] : [o.local];
    this.availableList = this.capacityList;
    this.logger = o.logger ?? noopLogger;
  }

  /** Every node whole, in service or not (admission: could a job ever fit). */
  capacity(): NodeInfo[] {
    return this.capacityList;
  }

  /** What the scheduler may place on now. */
  available(): NodeInfo[] {
    return this.availableList;
  }

  /** False while an inventory was never read (the engine did not answer yet): nothing can be said about fitting. */
  get known(): boolean {
    return this.o.inventory === undefined || this.read;
  }
  private read = false;

  /** Whether the nodes come from the executor's inventory rather than this machine. */
  get fromInventory(): boolean {
    return this.o.inventory !== undefined;
  }

  /** Reads the inventory once (an engine that cannot be read yet leaves the nodes as they were), then keeps reading. */
  async start(): Promise<void> {
    if (!this.o.inventory) return;
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.closed = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.o.clock.setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.o.refreshMs ?? 5000);
  }

  /** Reads the inventory now; true when what is available changed. */
  async refresh(): Promise<boolean> {
    if (!this.o.inventory) return false;
    let nodes: ExecutorNode[];
    try {
      nodes = await this.o.inventory();
    } catch (err) {
      this.logger.warn({ err }, "reading the executor's node inventory failed; placing on the nodes read last");
      return false;
    }
    this.read = true;
    const all = [...nodes].sort((a, b) => a.name.localeCompare(b.name));
    const usable = all.filter((n) => !UNUSABLE.test(n.state ?? ""));
    const key = JSON.stringify(all);
    if (key === this.key) return false;
    this.key = key;
    // Capacity counts every node, drained or powered down too: a job that fits only a node out of service now still
    // fits the cluster (it waits); what the scheduler places on is the usable nodes only.
    this.capacityList = all.map((n) => ({ name: n.name, gpus: n.gpus.map((g) => ({ index: g.index, type: g.type })), cpuMilli: n.cpuMilli, memoryMb: n.memoryMb }));
    this.availableList = usable.map((n) => {
      const busyGpus = Math.min(n.busy.gpus, n.gpus.length);
      // Which of a node's GPUs another allocation holds is the engine's to know; the highest indices stand for them.
      return { name: n.name, gpus: n.gpus.slice(0, n.gpus.length - busyGpus).map((g) => ({ index: g.index, type: g.type })), cpuMilli: Math.max(0, n.cpuMilli - n.busy.cpuMilli), memoryMb: Math.max(0, n.memoryMb - n.busy.memoryMb) };
    });
    this.logger.info({ nodes: this.availableList.map((n) => ({ name: n.name, gpus: n.gpus.length, cpuMilli: n.cpuMilli, memoryMb: n.memoryMb })) }, "node inventory");
    this.o.onChange?.();
    return true;
  }
}
