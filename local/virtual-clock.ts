import type { Timer, TimerClock } from '../lambdas/shared/ports';

/**
 * Virtual time for the local runtime: `now()` stands still while anything is in flight and, once
 * nothing is, jumps to the next timer and runs it. No wall millisecond the runtime spends working
 * (a handler, an SDK call, a state transition) is ever counted as simulated time, so the same
 * seed gives the same run on an idle laptop and on a machine whose cores are busy elsewhere.
 *
 * "In flight" is what the clock is told: promises passed to `track` (every timer callback's own
 * promise is tracked), and the `busy` probes registered with `addProbe` (e.g. a queue with a
 * delivery pending, the DynamoDB client with a request out). Timers due at the same instant run
 * one at a time in the order they were set, each after the work the previous one started has
 * settled: the run is a sequence, not a race.
 *
 * @example
 * const clock = new VirtualClock({ start: Date.parse('2026-03-02T08:00:00Z') });
 * clock.setTimer(60_000, () => console.log(new Date(clock.now()).toISOString())); // 08:01:00
 * await clock.whenIdle(); // nothing left to run
 * clock.stop();
 */
export interface VirtualClockOptions {
  /** Epoch ms of the virtual start. */
  readonly start: number;
  /**
   * Wall ms between two looks at a busy runtime: short enough to add little latency, long enough
   * not to spin a core the work itself needs. @default 1
   */
  readonly pollMs?: number;
}

interface Pending {
  readonly due: number;
  readonly sequence: number;
  readonly callback: () => unknown;
  cancelled: boolean;
}

export class VirtualClock implements TimerClock {
  private current: number;
  private sequence = 0;
  private readonly heap: Pending[] = [];
  private holds = 0;
  private readonly probes = new Set<() => boolean>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly pollMs: number;
  private idleWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  /** Timers run so far (for progress and tests). */
  fired = 0;

  constructor(options: VirtualClockOptions) {
    this.current = options.start;
    this.pollMs = options.pollMs ?? 1;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, callback: () => unknown): Timer {
    const pending: Pending = {
      due: this.current + Math.max(0, Number.isFinite(ms) ? ms : 0),
      sequence: this.sequence++,
      callback,
      cancelled: false,
    };
    this.push(pending);
    this.start();
    this.wake?.();
    return {
      cancel: () => {
        pending.cancelled = true;
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        timer.cancel();
        resolve();
      };
      const timer = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.holds += 1;
    return work.finally(() => {
      this.holds -= 1;
    });
  }

  /** Registers a probe that is true while its component has work in flight; returns the unregister function. */
  addProbe(busy: () => boolean): () => void {
    this.probes.add(busy);
    return () => this.probes.delete(busy);
  }

  /** True while tracked work or a probe says something is in flight. */
  get busy(): boolean {
    if (this.holds > 0) return true;
    for (const probe of this.probes) if (probe()) return true;
    return false;
  }

  /** Live timers (cancelled ones excluded). */
  get pendingTimers(): number {
    return this.heap.filter((pending) => !pending.cancelled).length;
  }

  /** Resolves once nothing is in flight and no timer is left (or the clock is stopped). */
  whenIdle(): Promise<void> {
    this.start();
    this.wake?.();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops advancing; pending timers never run. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.notifyIdle();
  }

  private start(): void {
    if (this.loop || this.stopped) return;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!(await this.quiescent())) continue;
      const next = this.popLive();
      if (next === undefined) {
        this.notifyIdle();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      this.current = Math.max(this.current, next.due);
      this.fired += 1;
      try {
        const result = next.callback();
        if (result instanceof Promise) void this.track(result).catch(() => {});
      } catch {
        // A timer's own error is its owner's to report; the clock keeps time for the others.
      }
    }
    this.notifyIdle();
  }

  /**
   * True once nothing is in flight across a full turn of the event loop (so microtask chains
   * and the callbacks of I/O that just finished have had their say); false after a short wall
   * pause while something is.
   */
  private async quiescent(): Promise<boolean> {
    if (this.busy) {
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      return false;
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (this.busy) return false;
    await new Promise((resolve) => setImmediate(resolve));
    return !this.busy && !this.stopped;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // A binary heap on (due, sequence): the earliest timer first, ties in the order they were set.
  private push(pending: Pending): void {
    const heap = this.heap;
    heap.push(pending);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index] as Pending, heap[parent] as Pending)) break;
      [heap[index], heap[parent]] = [heap[parent] as Pending, heap[index] as Pending];
      index = parent;
    }
  }

  private popLive(): Pending | undefined {
    for (;;) {
      const top = this.pop();
      if (top === undefined || !top.cancelled) return top;
    }
  }

  private pop(): Pending | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left] as Pending, heap[smallest] as Pending)) smallest = left;
      if (right < heap.length && before(heap[right] as Pending, heap[smallest] as Pending)) smallest = right;
      if (smallest === index) return top;
      [heap[index], heap[smallest]] = [heap[smallest] as Pending, heap[index] as Pending];
      index = smallest;
    }
  }
}

function before(a: Pending, b: Pending): boolean {
  return a.due < b.due || (a.due === b.due && a.sequence < b.sequence);
}

/**
 * Runs `callback` every `ms` of `clock`'s time, the first time `ms` from now, until cancelled. A
 * promise it returns counts as in flight, as for any timer.
 */
export function every(clock: TimerClock, ms: number, callback: () => unknown): Timer {
  let cancelled = false;
  let current: Timer | undefined;
  const arm = () => {
    current = clock.setTimer(ms, () => {
      if (cancelled) return;
      arm();
      return callback();
    });
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      current?.cancel();
    },
  };
}
