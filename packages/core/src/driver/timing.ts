/**
 * Deadlines on the injected clock: a promise either settles in time or the wait fails
 * with a timeout error that names the phase and the milliseconds waited.
 */
import { type SmtpPhase, SmtpTimeoutError } from '../errors.js';
import type { Clock } from './contracts.js';

/** Settle with `promise`, or reject with a timeout error after `timeoutMs`. */
export function withDeadline<T>(
  clock: Clock,
  promise: Promise<T>,
  timeoutMs: number,
  phase: SmtpPhase,
  describe: (elapsedMs: number) => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const started = clock.now();
    const timer = clock.setTimer(timeoutMs, () => {
      const elapsed = clock.now() - started;
      reject(new SmtpTimeoutError(describe(elapsed), elapsed, { phase }));
    });
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
