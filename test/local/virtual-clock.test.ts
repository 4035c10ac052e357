import { describe, expect, it } from 'vitest';
import { every, VirtualClock } from '../../local/virtual-clock';

const START = Date.parse('2026-03-02T08:00:00Z');

/** Wall ms of real work (I/O-like: a timer the virtual clock knows nothing of). */
const wallWork = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the virtual clock', () => {
  it('jumps from timer to timer, in due order, ties in the order they were set', async () => {
    // Prepare
    const clock = new VirtualClock({ start: START });
    const seen: string[] = [];
    const note = (name: string) => () => seen.push(`${name}@${(clock.now() - START) / 1000}`);

    // Act
    clock.setTimer(3_600_000, note('hour'));
    clock.setTimer(60_000, note('minute-a'));
    clock.setTimer(60_000, note('minute-b'));
    clock.setTimer(0, note('now'));
    await clock.whenIdle();
    clock.stop();

    // Assess: an hour of timers in no wall time at all.
    expect(seen).toEqual(['now@0', 'minute-a@60', 'minute-b@60', 'hour@3600']);
  });

  it('stands still while tracked work runs, however long it takes in wall time', async () => {
    // Prepare
    const clock = new VirtualClock({ start: START });
    const seen: number[] = [];

    // Act: the first timer's work takes 50 wall ms; the second is due 1 virtual ms later.
    clock.setTimer(0, async () => {
      await wallWork(50);
      seen.push(clock.now() - START);
    });
    clock.setTimer(1, () => seen.push(clock.now() - START));
    await clock.whenIdle();
    clock.stop();

    // Assess: the work finished at virtual 0, before the clock moved on.
    expect(seen).toEqual([0, 1]);
  });

  it('holds still while a probe says something is in flight', async () => {
    // Prepare
    const clock = new VirtualClock({ start: START });
    let busy = true;
    clock.addProbe(() => busy);
    const fired: number[] = [];
    clock.setTimer(1_000, () => fired.push(clock.now()));

    // Act
    await wallWork(30);
    const beforeRelease = [...fired];
    busy = false;
    await clock.whenIdle();
    clock.stop();

    // Assess
    expect(beforeRelease).toEqual([]);
    expect(fired).toEqual([START + 1_000]);
  });

  it('sleeps in virtual time, wakes at once when aborted, and never runs a cancelled timer', async () => {
    // Prepare
    const clock = new VirtualClock({ start: START });
    const controller = new AbortController();
    let cancelledRan = false;

    // Act
    const cancelled = clock.setTimer(10, () => {
      cancelledRan = true;
    });
    cancelled.cancel();
    await clock.sleep(90_000);
    const afterSleep = clock.now();
    const aborted = clock.sleep(10 * 3_600_000, controller.signal);
    controller.abort();
    await aborted;
    await clock.whenIdle();
    clock.stop();

    // Assess
    expect(afterSleep).toBe(START + 90_000);
    expect(clock.now()).toBe(START + 90_000);
    expect(cancelledRan).toBe(false);
  });

  it('repeats with every() until cancelled', async () => {
    // Prepare
    const clock = new VirtualClock({ start: START });
    const ticks: number[] = [];
    const ticker = every(clock, 60_000, () => {
      ticks.push((clock.now() - START) / 60_000);
      if (ticks.length === 3) ticker.cancel();
    });

    // Act
    await clock.whenIdle();
    clock.stop();

    // Assess
    expect(ticks).toEqual([1, 2, 3]);
  });
});
