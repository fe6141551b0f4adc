/**
 * The rejection of a promise that must fail, typed as mailwire's error, for tests that check
 * its code, phase and message.
 */
import type { SmtpError } from '@mailwire/core';

/** Await `promise` and return what it rejected with; throw when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<SmtpError> {
  try {
    await promise;
  } catch (error) {
    return error as SmtpError;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}
