/**
 * Deadlines on the injected clock: a promise either settles in time or the wait fails
 * with a timeout error that names the phase and the milliseconds waited.
 */
import { type SmtpPhase, SmtpTimeoutError } from '../errors.js';
import type { Clock } from './contracts.js';

/** Settle with `promise`, or reject with a timeout error after `timeoutMs`. */
export async function withDeadline<T>(
  clock: Clock,
  promise: Promise<T>,
  timeoutMs: number,
  phase: SmtpPhase,
  describe: (elapsedMs: number) => string,
): Promise<T> {
  const started = clock.now();
  const result = await settledWithin(clock, promise, timeoutMs);
  if (result !== STILL_PENDING) return result;
  const elapsed = clock.now() - started;
  throw new SmtpTimeoutError(describe(elapsed), elapsed, { phase });
}

/** Marker that `settledWithin` returns when the time ran out first. */
export const STILL_PENDING = Symbol('still pending');

/**
 * Settle with `promise` when it settles within `waitMs`, else with `STILL_PENDING`; the
 * promise itself keeps running and can be awaited again.
 */
export function settledWithin<T>(
  clock: Clock,
  promise: Promise<T>,
  waitMs: number,
): Promise<T | typeof STILL_PENDING> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(waitMs, () => resolve(STILL_PENDING));
    promise.then(
      (value) => {
        clock.clearTimer(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimer(timer);
        reject(error);
      },
    );
  });
}
