/**
 * The system clock for the driver: wall-clock time and timers that never keep the process
 * alive on their own, so a forgotten deadline cannot delay exit.
 */
import type { Clock, TimerHandle } from '@mailwire/core';

/** Clock backed by `Date.now` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    timer.unref?.();
    return timer;
  },

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle);
  },
};
