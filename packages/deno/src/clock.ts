/**
 * The system clock for the driver: wall-clock time and timers that never keep the process
 * alive on their own, so a forgotten deadline cannot delay exit.
 */
import type { Clock, TimerHandle } from '@mailwire/core';

/** Clock backed by `Date.now` and `setTimeout`, unref'd where `Deno.unrefTimer` exists. */
export const systemClock: Clock = {
  now: () => Date.now(),

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    // Where the runtime lacks Deno.unrefTimer the timer stays ref'd, which only delays exit.
    if (typeof Deno.unrefTimer === 'function') Deno.unrefTimer(timer);
    return timer;
  },

  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as number);
  },
};
