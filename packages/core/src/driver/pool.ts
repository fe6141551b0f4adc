/**
 * A pool of sessions for sending many messages: at most `maxConnections` open at once,
 * each reused for up to `maxMessages` messages and closed after `idleTimeout` without
 * work. Sends wait in one first-in, first-out queue. A message whose connection turns out
 * to be closed (421, idle drop) before any recipient was accepted goes back to the front
 * of the queue and is sent on a new connection, so no queued message is lost.
 */
import { SmtpError } from '../errors.js';
import type { Clock, TimerHandle } from './contracts.js';
import type { SendResult } from './options.js';
import type { Session } from './session.js';
import { beginTransaction, type PreparedMessage, type TransactionSettings } from './transaction.js';

export interface PoolLimits {
  maxConnections: number;
  maxMessages: number;
  idleTimeout: number;
}

interface Job {
  message: PreparedMessage;
  attempts: number;
  started: number;
  resolve: (result: SendResult) => void;
  reject: (error: unknown) => void;
}

interface InFlight {
  job: Job;
  finish: () => Promise<SendResult>;
  settled?: boolean;
}

interface IdleSession {
  session: Session;
  timer: TimerHandle;
}

/** Attempts per message when its connection breaks before any recipient was accepted. */
const MAX_ATTEMPTS = 3;

export class ConnectionPool {
  private readonly queue: Job[] = [];
  private readonly idle: IdleSession[] = [];
  /** Sessions opening or sending. */
  private busy = 0;
  private drained: Array<() => void> = [];

  constructor(
    private readonly openSession: () => Promise<Session>,
    /** Attach the session's transcript to an error, without closing the session. */
    private readonly describeFailure: (session: Session, error: unknown) => unknown,
    private readonly settings: TransactionSettings,
    private readonly limits: PoolLimits,
    private readonly clock: Clock,
  ) {}

  /** Queue a message; resolves when the server accepted it. */
  send(message: PreparedMessage): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ message, attempts: 0, started: this.clock.now(), resolve, reject });
      this.dispatch();
    });
  }

  /** Wait for every queued message, then QUIT every idle connection. */
  async close(): Promise<void> {
    if (this.queue.length > 0 || this.busy > 0) {
      await new Promise<void>((resolve) => this.drained.push(resolve));
    }
    const idle = this.idle.splice(0);
    await Promise.all(
      idle.map(({ session, timer }) => {
        this.clock.clearTimer(timer);
        return session.quit();
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const reusable = this.idle.pop();
      if (reusable) {
        this.clock.clearTimer(reusable.timer);
        this.busy += 1;
        void this.work(reusable.session, true);
        continue;
      }
      if (this.busy + this.idle.length >= this.limits.maxConnections) return;
      this.busy += 1;
      void this.connect();
    }
    this.notifyDrained();
  }

  private async connect(): Promise<void> {
    let session: Session;
    try {
      session = await this.openSession();
    } catch (error) {
      // The connection failed for everyone: fail the oldest message, keep the others queued.
      this.busy -= 1;
      this.queue.shift()?.reject(error);
      this.dispatch();
      return;
    }
    await this.work(session, false);
  }

  /**
   * Send queued messages on one session until the queue is empty or the session is done.
   * RSET goes before a message only when the session comes back from idle, or when the
   * previous transaction stopped before its end of data. The end of data clears the server's
   * buffers whether the message is accepted or not (RFC 5321 §4.1.1.4), so MAIL can follow.
   */
  private async work(session: Session, reused: boolean): Promise<void> {
    let reset = reused;
    // A message whose data is sent but whose final reply is not read yet.
    let inFlight: InFlight | null = null;
    const chain = session.canPipelineMessages(this.settings.lmtp);

    for (;;) {
      if (inFlight && (!chain || this.queue.length === 0)) {
        await this.settle(session, inFlight);
        inFlight = null;
      }
      const done = session.messages >= this.limits.maxMessages || !session.reusable;
      const job = done ? undefined : this.queue.shift();
      if (!job) break;

      job.attempts += 1;
      const previous = inFlight;
      inFlight = null;
      const settlePrevious = previous ? () => this.settle(session, previous) : undefined;
      try {
        const finish = await beginTransaction(
          session,
          job.message,
          this.settings,
          reset,
          settlePrevious,
        );
        inFlight = { job, finish };
        reset = false;
      } catch (error) {
        // A message refused before its envelope was written leaves the previous one unread.
        if (previous && !previous.settled) await this.settle(session, previous);
        this.fail(session, job, error);
        reset = true;
      }
    }

    if (inFlight) await this.settle(session, inFlight);
    this.busy -= 1;
    if (session.reusable && session.messages < this.limits.maxMessages) {
      this.park(session);
    } else {
      await session.quit();
    }
    this.dispatch();
  }

  /** Read the final reply of a message in flight and settle its promise; once only. */
  private async settle(session: Session, entry: InFlight): Promise<void> {
    if (entry.settled) return;
    entry.settled = true;
    try {
      const result = await entry.finish();
      result.timings.total = this.clock.now() - entry.job.started;
      entry.job.resolve(result);
    } catch (error) {
      // The data was sent, so the message is not sent again on another connection.
      entry.job.reject(this.describeFailure(session, error));
    }
  }

  private fail(session: Session, job: Job, error: unknown): void {
    if (brokenConnection(error) && job.attempts < MAX_ATTEMPTS) {
      this.queue.unshift(job);
    } else {
      job.reject(this.describeFailure(session, error));
    }
  }

  private park(session: Session): void {
    const entry: IdleSession = {
      session,
      timer: this.clock.setTimer(this.limits.idleTimeout, () => {
        const index = this.idle.indexOf(entry);
        if (index !== -1) this.idle.splice(index, 1);
        void session.quit();
      }),
    };
    this.idle.push(entry);
  }

  private notifyDrained(): void {
    if (this.queue.length > 0 || this.busy > 0) return;
    for (const resolve of this.drained.splice(0)) resolve();
  }
}

/** True when the connection broke (closed, 421) before the message reached its data. */
function brokenConnection(error: unknown): boolean {
  if (!(error instanceof SmtpError)) return false;
  const broken = error.code === 'ECONNECTION' || error.responseCode === 421;
  return broken && error.phase !== 'message' && error.accepted.length === 0;
}
