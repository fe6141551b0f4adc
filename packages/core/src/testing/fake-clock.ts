/**
 * A `Clock` for tests whose time moves only when the test calls `advance`. Timers fire in
 * the order they fall due, each with `now()` set to its due time. It is a test helper that
 * index.ts does not export, and it uses no runtime timer.
 */
import type { Clock, TimerHandle } from '../driver/contracts.js';

interface FakeTimer {
  id: number;
  due: number;
  callback: () => void;
}

/** Default start time: 2026-12-04T15:03:12.143Z. */
const DEFAULT_START = Date.UTC(2026, 11, 4, 15, 3, 12, 143);

export class FakeClock implements Clock {
  private current: number;
  private lastId = 0;
  private timers: FakeTimer[] = [];

  constructor(start = DEFAULT_START) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    this.lastId += 1;
    this.timers.push({ id: this.lastId, due: this.current + Math.max(0, delayMs), callback });
    return this.lastId;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  /** Delays in milliseconds from now of the timers still armed, shortest first. */
  get pendingDelays(): number[] {
    return this.timers.map((timer) => timer.due - this.current).sort((a, b) => a - b);
  }

  /**
   * Move time forward by `ms`, firing every timer that falls due on the way, including timers
   * that those callbacks arm. Code that awaits a fired timer runs only after this returns.
   */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let timer = this.takeDue(target); timer !== null; timer = this.takeDue(target)) {
      this.current = timer.due;
      timer.callback();
    }
    this.current = target;
  }

  /** Remove and return the earliest timer due at or before `time`, or null. */
  private takeDue(time: number): FakeTimer | null {
    let earliest: FakeTimer | null = null;
    for (const timer of this.timers) {
      const sooner = earliest === null || timer.due < earliest.due;
      if (timer.due <= time && sooner) earliest = timer;
    }
    if (earliest !== null) this.timers = this.timers.filter((timer) => timer !== earliest);
    return earliest;
  }
}
