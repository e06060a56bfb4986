import { PollScheduler, Timers } from '../logic/poller';

/** Timers that move only when the test says so. */
class ManualTimers implements Timers {
  time = 0;
  private pending = new Map<number, { at: number; callback: () => void }>();
  private next = 1;

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.next++;
    this.pending.set(handle, { at: this.time + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  now(): number {
    return this.time;
  }

  /** Milliseconds until the next timer fires, or null when none is set. */
  get waiting(): number | null {
    const times = [...this.pending.values()].map(p => p.at - this.time);
    return times.length ? Math.min(...times) : null;
  }

  /** Move the clock to the next timer and fire it. */
  async fireNext(): Promise<number> {
    const [handle, entry] = [...this.pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
    this.pending.delete(handle);
    const waited = entry.at - this.time;
    this.time = entry.at;
    entry.callback();
    await flush();
    return waited;
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    while (this.waiting !== null && this.time + this.waiting <= end) {
      await this.fireNext();
    }
    this.time = end;
  }
}

/** Let resolved promises run their callbacks. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

function scheduler(answers: boolean[], options: { paused?: boolean } = {}) {
  const timers = new ManualTimers();
  let calls = 0;
  const poller = new PollScheduler({
    poll: async () => {
      const answer = answers[Math.min(calls, answers.length - 1)];
      calls++;
      return answer;
    },
    interval: 2,
    maxInterval: 30,
    timers,
    paused: options.paused
  });
  return { timers, poller, calls: () => calls };
}

describe('PollScheduler', () => {
  it('polls every interval while things change', async () => {
    const { timers, poller, calls } = scheduler([true]);
    poller.start();
    await flush();
    expect(calls()).toBe(1);
    expect(await timers.fireNext()).toBe(2000);
    expect(await timers.fireNext()).toBe(2000);
    expect(calls()).toBe(3);
  });

  it('doubles the wait while nothing changes, up to the maximum', async () => {
    const { timers, poller } = scheduler([false]);
    poller.start();
    await flush();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      waits.push(await timers.fireNext());
    }
    expect(waits).toEqual([4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('goes back to the interval on the first change', async () => {
    const { timers, poller } = scheduler([false, false, false, true, false]);
    poller.start();
    await flush();
    // Three quiet polls, then a change, then quiet again.
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      waits.push(await timers.fireNext());
    }
    expect(waits).toEqual([4000, 8000, 16000, 2000]);
  });

  it('counts a failed poll as no change and keeps polling', async () => {
    const timers = new ManualTimers();
    let calls = 0;
    const poller = new PollScheduler({
      poll: async () => {
        calls++;
        throw new Error('server gone');
      },
      interval: 1,
      maxInterval: 4,
      timers
    });
    poller.start();
    await flush();
    expect(await timers.fireNext()).toBe(2000);
    expect(await timers.fireNext()).toBe(4000);
    expect(await timers.fireNext()).toBe(4000);
    expect(calls).toBe(4);
  });

  it('asks nothing while paused and polls at once on resume', async () => {
    const { timers, poller, calls } = scheduler([true]);
    poller.start();
    await flush();
    poller.pause();
    expect(timers.waiting).toBeNull();
    await timers.advance(60000);
    expect(calls()).toBe(1);
    poller.resume();
    await flush();
    expect(calls()).toBe(2);
    expect(timers.waiting).toBe(2000);
  });

  it('starts paused when asked, and resuming resets the backoff', async () => {
    const { timers, poller, calls } = scheduler([false], { paused: true });
    poller.start();
    await flush();
    expect(calls()).toBe(0);
    poller.resume();
    await flush();
    await timers.fireNext();
    await timers.fireNext();
    expect(timers.waiting).toBe(16000);
    poller.pause();
    poller.resume();
    await flush();
    expect(timers.waiting).toBe(4000);
  });

  it('polls at once on refresh and resets the wait', async () => {
    const { timers, poller, calls } = scheduler([false]);
    poller.start();
    await flush();
    await timers.fireNext();
    expect(timers.waiting).toBe(8000);
    poller.refresh();
    await flush();
    expect(calls()).toBe(3);
    expect(timers.waiting).toBe(4000);
  });

  it('never runs two polls at once', async () => {
    const timers = new ManualTimers();
    let running = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const poller = new PollScheduler({
      poll: () =>
        new Promise<boolean>(resolve => {
          running++;
          most = Math.max(most, running);
          release = () => {
            running--;
            resolve(true);
          };
        }),
      interval: 2,
      maxInterval: 30,
      timers
    });
    poller.start();
    poller.refresh();
    poller.refresh();
    expect(most).toBe(1);
    release();
    await flush();
    // The refreshes asked while busy give one more poll, right after.
    expect(running).toBe(1);
    release();
    await flush();
    expect(most).toBe(1);
    expect(timers.waiting).toBe(2000);
  });

  it('stops for good', async () => {
    const { timers, poller, calls } = scheduler([true]);
    poller.start();
    await flush();
    poller.stop();
    poller.refresh();
    poller.resume();
    await timers.advance(10000);
    expect(calls()).toBe(1);
    expect(timers.waiting).toBeNull();
  });

  it('moves a wait under way when the intervals change, counting time waited', async () => {
    const { timers, poller } = scheduler([false]);
    poller.start();
    await flush();
    await timers.fireNext();
    await timers.fireNext();
    expect(timers.waiting).toBe(16000);
    await timers.advance(3000);
    poller.setIntervals(1, 5);
    expect(poller.delay).toBe(5);
    expect(timers.waiting).toBe(2000);
  });
});
