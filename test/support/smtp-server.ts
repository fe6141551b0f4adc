/**
 * A real SMTP server for tests, built on the `smtp-server` package and bound to 127.0.0.1 on
 * a free port. It stores every accepted message in memory and logs nothing. Also a silent
 * TCP server that accepts connections and never greets, for greeting timeouts.
 */
import * as net from 'node:net';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerDataStream,
  type SMTPServerError,
  type SMTPServerOptions,
  type SMTPServerSession,
} from 'smtp-server';
import { afterEach } from 'vitest';
import { testCertificates } from './certs.ts';

export interface TestServerOptions {
  /** Implicit TLS on connect, with the test server certificate. Default false. */
  secure?: boolean;
  /** Offer STARTTLS with the test server certificate. Default true. */
  startTls?: boolean;
  /** SASL mechanisms offered. Default `['PLAIN', 'LOGIN']`. */
  authMethods?: string[];
  /**
   * Accounts: user name to password. For XOAUTH2 the value is the expected access token.
   * Default `{ 'demo@example.test': 'demo-Passw0rd' }`.
   */
  users?: Record<string, string>;
  /** Accept mail without AUTH. Default true. */
  authOptional?: boolean;
  /** Return a full reply such as `550 5.1.1 mailbox unknown` to reject a recipient. */
  rejectRecipients?: (address: string) => string | null;
  /** Offer AUTH before TLS. Default false. */
  allowInsecureAuth?: boolean;
  /** SIZE limit in bytes, announced in EHLO and enforced on DATA. */
  size?: number;
  /** Speak LMTP instead of SMTP (LHLO, one reply per recipient after DATA). */
  lmtp?: boolean;
  /**
   * Any other `smtp-server` option, for example `{ hideENHANCEDSTATUSCODES: false }`. The
   * handlers `onAuth`, `onRcptTo` and `onData` stay the test server's own.
   */
  extra?: Partial<SMTPServerOptions>;
}

export interface ReceivedMessage {
  /** Envelope sender, empty for the null sender `<>`. */
  from: string;
  /** Envelope recipients the server accepted. */
  to: string[];
  /** Message bytes as received, after the server removed the dot-stuffing. */
  raw: Buffer;
  /** smtp-server's id of the connection that carried the message. */
  sessionId: string;
  /** smtp-server's envelope, with the MAIL and RCPT parameters it parsed (DSN, REQUIRETLS). */
  envelope: SMTPServerSession['envelope'];
}

export interface TestSmtpServer {
  host: string;
  port: number;
  /** Messages accepted so far, in the order their DATA finished. */
  messages: ReceivedMessage[];
  /** Resolve once `count` messages have arrived, or reject after `timeoutMs`. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

export interface SilentServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

const DEFAULT_USERS: Record<string, string> = { 'demo@example.test': 'demo-Passw0rd' };

const DEFAULT_WAIT_MS = 5000;

/** Milliseconds `close()` waits for open sessions before the server ends them. */
const CLOSE_TIMEOUT_MS = 200;

/**
 * Return a function that starts SMTP servers for the calling test file and closes each one
 * after the test that started it. Call it once, at the top level of the file.
 */
export function smtpServerPerTest(): (options?: TestServerOptions) => Promise<TestSmtpServer> {
  const started: TestSmtpServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (options = {}) => {
    const server = await startSmtpServer(options);
    started.push(server);
    return server;
  };
}

/**
 * Start an SMTP server on 127.0.0.1 and a free port.
 * NOTE: smtp-server 3.21 waits 100 ms before it greets each connection (its check for clients
 * that talk too early), so every new connection costs that much. Do not measure throughput
 * with this server.
 */
export async function startSmtpServer(options: TestServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedMessage[] = [];
  const arrivals = new Set<() => void>();
  const users = options.users ?? DEFAULT_USERS;
  const certificates = testCertificates();

  const serverOptions: SMTPServerOptions = {
    secure: options.secure ?? false,
    key: certificates.serverKeyPem,
    cert: certificates.serverCertPem,
    hideSTARTTLS: options.startTls === false,
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    authOptional: options.authOptional ?? true,
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    size: options.size,
    lmtp: options.lmtp ?? false,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: CLOSE_TIMEOUT_MS,
    ...options.extra,
    onAuth: (auth, _session, callback) => callback(null, checkLogin(auth, users)),
    onRcptTo: (address, _session, callback) => {
      callback(recipientError(address, options, serverOptions));
    },
    onData: (stream, session, callback) => {
      collectMessage(stream, session).then(
        (message) => {
          if (message === null) {
            callback(replyError(`552 message exceeds the size limit of ${options.size} bytes`));
            return;
          }
          messages.push(message);
          for (const notify of arrivals) notify();
          callback(null, 'OK: message queued');
        },
        (error: Error) => callback(error),
      );
    },
  };

  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, HOST, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  // Errors of single sessions (a client that resets the connection) must not fail tests.
  server.on('error', () => undefined);
  const { port } = server.server.address() as net.AddressInfo;

  return {
    host: HOST,
    port,
    messages,
    waitForMessages: (count, timeoutMs = DEFAULT_WAIT_MS) =>
      waitForCount(messages, arrivals, count, timeoutMs),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Start a TCP server on 127.0.0.1 that accepts connections and never sends a byte. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    host: HOST,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function checkLogin(
  auth: SMTPServerAuthentication,
  users: Record<string, string>,
): SMTPServerAuthenticationResponse {
  const username = auth.username ?? '';
  const secret = Object.hasOwn(users, username) ? users[username] : undefined;

  let accepted = false;
  if (secret !== undefined) {
    if (auth.method === 'XOAUTH2') accepted = auth.accessToken === secret;
    else if (auth.method === 'CRAM-MD5') accepted = auth.validatePassword(secret);
    else accepted = auth.password === secret;
  }

  if (accepted) return { user: username };
  if (auth.method === 'XOAUTH2') {
    return { data: { status: '401', schemes: 'bearer', scope: 'https://mail.example.test/' } };
  }
  return { message: 'Authentication credentials invalid' };
}

function recipientError(
  address: SMTPServerAddress,
  options: TestServerOptions,
  serverOptions: SMTPServerOptions,
): SMTPServerError | null {
  const reply = options.rejectRecipients?.(address.address) ?? null;
  if (reply === null) return null;
  // With ENHANCEDSTATUSCODES on, smtp-server puts its own enhanced code in front of the
  // text, so a code in the given reply would appear twice.
  const stripEnhancedCode = serverOptions.hideENHANCEDSTATUSCODES === false;
  return replyError(reply, stripEnhancedCode);
}

/** Turn `550 5.1.1 text` into the error smtp-server sends as that reply. */
function replyError(reply: string, stripEnhancedCode = false): SMTPServerError {
  const match = /^([2-5]\d\d)[ -]?(.*)$/s.exec(reply);
  if (match === null) throw new Error(`Invalid test reply: ${reply} (expected '550 text')`);

  const [, code, rest = ''] = match;
  const text = stripEnhancedCode ? rest.replace(/^[245]\.\d{1,3}\.\d{1,3} /, '') : rest;
  return Object.assign(new Error(text), { responseCode: Number(code) });
}

/** Read the DATA stream; `null` when the message went over the SIZE limit. */
async function collectMessage(
  stream: SMTPServerDataStream,
  session: SMTPServerSession,
): Promise<ReceivedMessage | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  if (stream.sizeExceeded) return null;

  const { mailFrom, rcptTo } = session.envelope;
  return {
    from: mailFrom === false ? '' : mailFrom.address,
    to: rcptTo.map((recipient) => recipient.address),
    raw: Buffer.concat(chunks),
    sessionId: session.id,
    envelope: session.envelope,
  };
}

function waitForCount(
  messages: ReceivedMessage[],
  arrivals: Set<() => void>,
  count: number,
  timeoutMs: number,
): Promise<ReceivedMessage[]> {
  if (messages.length >= count) return Promise.resolve(messages);

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      arrivals.delete(check);
      const message = `Timed out after ${timeoutMs} ms waiting for ${count} messages; got ${messages.length}`;
      reject(new Error(message));
    }, timeoutMs);
    const check = () => {
      if (messages.length < count) return;
      clearTimeout(timer);
      arrivals.delete(check);
      resolve(messages);
    };
    arrivals.add(check);
  });
}
