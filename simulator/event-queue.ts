/**
 * Binary min-heap of timed events. Ties break by insertion order, so runs are deterministic
 * whatever the heap's internal layout.
 */
export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly sequence: number[] = [];
  private readonly payloads: T[] = [];
  private counter = 0;

  get size(): number {
    return this.times.length;
  }

  push(time: number, payload: T): void {
    this.times.push(time);
    this.sequence.push(this.counter++);
    this.payloads.push(payload);
    this.siftUp(this.times.length - 1);
  }

  peekTime(): number {
    return this.times.length === 0 ? Number.POSITIVE_INFINITY : (this.times[0] ?? Number.POSITIVE_INFINITY);
  }

  pop(): { time: number; payload: T } | undefined {
    const count = this.times.length;
    if (count === 0) return undefined;
    const time = this.times[0] ?? 0;
    const payload = this.payloads[0] as T;
    this.swap(0, count - 1);
    this.times.pop();
    this.sequence.pop();
    this.payloads.pop();
    this.siftDown(0);
    return { time, payload };
  }

  private less(left: number, right: number): boolean {
    const leftTime = this.times[left] ?? 0;
    const rightTime = this.times[right] ?? 0;
    return (
      leftTime < rightTime ||
      (leftTime === rightTime && (this.sequence[left] ?? 0) < (this.sequence[right] ?? 0))
    );
  }

  private swap(left: number, right: number): void {
    const time = this.times[left] ?? 0;
    this.times[left] = this.times[right] ?? 0;
    this.times[right] = time;
    const order = this.sequence[left] ?? 0;
    this.sequence[left] = this.sequence[right] ?? 0;
    this.sequence[right] = order;
    const payload = this.payloads[left] as T;
    this.payloads[left] = this.payloads[right] as T;
    this.payloads[right] = payload;
  }

  private siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(start: number): void {
    let index = start;
    const count = this.times.length;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < count && this.less(left, smallest)) smallest = left;
      if (right < count && this.less(right, smallest)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }
}
