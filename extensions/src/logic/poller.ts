/**
 * When to ask the server again.
 *
 * A view polls at `interval` seconds while something changes (or runs); each
 * poll that changes nothing doubles the wait, up to `maxInterval`, and the
 * first change brings it back down. A paused scheduler (its view hidden)
 * asks nothing, and polls at once when it resumes. Timers and the clock are
 * passed in, so tests can drive time by hand.
 */

/** The timer functions the scheduler needs; the browser's by default. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export const browserTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: handle =>
    clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now()
};

export interface PollOptions {
  /**
   * Polls once; resolves true when something changed or is still running,
   * false when nothing did. A rejected poll counts as no change.
   */
  poll: () => Promise<boolean>;
  /** The shortest wait, in seconds. */
  interval: number;
  /** The longest wait, in seconds. */
  maxInterval: number;
  timers?: Timers;
  /** Start paused: nothing happens until `resume()`. */
  paused?: boolean;
}

export class PollScheduler {
  constructor(options: PollOptions) {
    this._poll = options.poll;
    this._timers = options.timers ?? browserTimers;
    this._paused = options.paused ?? false;
    this.setIntervals(options.interval, options.maxInterval);
    this._delay = this._interval;
  }

  /** The wait in seconds before the next poll, as it stands now. */
  get delay(): number {
    return this._delay;
  }

  get paused(): boolean {
    return this._paused;
  }

  get stopped(): boolean {
    return this._stopped;
  }

  /** True while a poll is in flight. */
  get polling(): boolean {
    return this._inFlight;
  }

  /**
   * Change the intervals (from the settings). The wait under way is shortened
   * or lengthened, counting the time already waited.
   */
  setIntervals(interval: number, maxInterval: number): void {
    const base = Number.isFinite(interval) && interval > 0 ? interval : 2;
    this._interval = base;
    this._maxInterval =
      Number.isFinite(maxInterval) && maxInterval >= base ? maxInterval : base;
    this._delay = Math.min(Math.max(this._delay, base), this._maxInterval);
    if (this._handle !== null && this._scheduledAt !== null) {
      const waited = (this._timers.now() - this._scheduledAt) / 1000;
      this._schedule(Math.max(0, this._delay - waited));
    }
  }

  /** Poll now (when not paused) and start the cycle. */
  start(): void {
    this.refresh();
  }

  /** Poll now with the shortest interval, e.g. after the user asked. */
  refresh(): void {
    if (this._stopped) {
      return;
    }
    this._delay = this._interval;
    if (this._paused) {
      return;
    }
    this._run();
  }

  /** Stop polling until `resume()`; a poll in flight still finishes. */
  pause(): void {
    this._paused = true;
    this._clear();
  }

  /** Poll at once and carry on. */
  resume(): void {
    if (this._stopped || !this._paused) {
      return;
    }
    this._paused = false;
    this.refresh();
  }

  /** Stop for good. */
  stop(): void {
    this._stopped = true;
    this._clear();
  }

  private _run(): void {
    this._clear();
    if (this._inFlight) {
      // One poll at a time; the answer of this one comes back soon enough.
      this._again = true;
      return;
    }
    this._inFlight = true;
    let result: Promise<boolean>;
    try {
      result = this._poll();
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      changed => this._done(changed),
      () => this._done(false)
    );
  }

  private _done(changed: boolean): void {
    this._inFlight = false;
    if (this._stopped || this._paused) {
      return;
    }
    if (this._again) {
      this._again = false;
      this._run();
      return;
    }
    this._delay = changed
      ? this._interval
      : Math.min(this._delay * 2, this._maxInterval);
    this._schedule(this._delay);
  }

  private _schedule(seconds: number): void {
    this._clear();
    this._scheduledAt = this._timers.now();
    this._handle = this._timers.setTimeout(() => {
      this._handle = null;
      this._scheduledAt = null;
      this._run();
    }, seconds * 1000);
  }

  private _clear(): void {
    if (this._handle !== null) {
      this._timers.clearTimeout(this._handle);
      this._handle = null;
      this._scheduledAt = null;
    }
  }

  private _poll: () => Promise<boolean>;
  private _timers: Timers;
  private _interval = 2;
  private _maxInterval = 30;
  private _delay = 2;
  private _handle: unknown = null;
  private _scheduledAt: number | null = null;
  private _inFlight = false;
  private _again = false;
  private _paused = false;
  private _stopped = false;
}
