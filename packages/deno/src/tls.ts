/**
 * TLS on a Deno TCP connection, used for STARTTLS and for implicit TLS. Certificate and host
 * name verification always stay on, because `Deno.startTls` has no option that turns chain
 * verification off. A private CA is passed in `ca` instead.
 */
import type { TlsDetails, TlsUpgradeOptions } from '@mailwire/core';

/** The encrypted connection and what the handshake revealed. */
export interface TlsUpgrade {
  conn: Deno.TlsConn;
  details: TlsDetails;
}

/**
 * Run a TLS handshake as a client on `conn`, which Deno consumes. `onStart` receives the TLS
 * connection before the handshake so that the caller can close it to abort the handshake.
 * Rejects with Deno's error (`InvalidData` for a certificate that fails verification) and
 * closes the connection then.
 */
export async function upgradeTls(
  conn: Deno.TcpConn,
  options: TlsUpgradeOptions,
  onStart?: (conn: Deno.TlsConn) => void,
): Promise<TlsUpgrade> {
  const serverName = options.servername ?? options.host;
  // NOTE: Deno trusts these certificates in addition to its default roots; it cannot
  // replace the roots per connection the way Node and Bun do.
  const caCerts = options.ca === undefined ? undefined : [options.ca].flat();

  let tlsConn: Deno.TlsConn;
  try {
    checkSupported(options);
    tlsConn = await Deno.startTls(conn, { hostname: serverName, caCerts });
  } catch (error) {
    closeQuietly(conn);
    throw error;
  }
  onStart?.(tlsConn);
  try {
    await tlsConn.handshake();
  } catch (error) {
    closeQuietly(tlsConn);
    throw error;
  }

  // Deno's handshake result holds only the ALPN protocol, so the version, cipher and peer
  // certificate stay unknown. Reaching this point means the chain and name were verified.
  const details: TlsDetails = { serverName, authorized: true };
  return { conn: tlsConn, details };
}

/** Reject options that Deno cannot honour, rather than connecting with weaker settings. */
function checkSupported(options: TlsUpgradeOptions): void {
  if (options.rejectUnauthorized === false) {
    throw unsupportedError(
      "rejectUnauthorized false is not supported on Deno: pass the server's CA certificate " +
        'in tls.ca instead',
    );
  }
  // Deno's TLS stack (rustls) speaks TLS 1.2 and 1.3 only, so any lower minimum is met.
  // It cannot require TLS 1.3, and the handshake does not report which version was chosen.
  if (options.minVersion === 'TLSv1.3') {
    throw unsupportedError('minVersion TLSv1.3 is not supported on Deno: it cannot be enforced');
  }
}

function unsupportedError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ETLS' });
}

/** Close a connection that the runtime may already have closed (it then throws BadResource). */
export function closeQuietly(conn: Deno.TcpConn | Deno.TlsConn): void {
  try {
    conn.close();
  } catch {
    // Already closed: nothing is left to release.
  }
}

/**
 * Wrap a TLS failure in an `Error` that names `target` and, for a certificate that failed
 * verification, adds what to change. Deno's TLS errors carry no `code`, so the message of the
 * verifier (rustls) is kept as the reason.
 */
export function tlsError(error: unknown, target: string, identity: string): Error {
  const cause = error instanceof Error ? error : new Error(String(error));
  const code = (cause as { code?: unknown }).code;
  const advice = verificationAdvice(cause.message, identity);
  const message =
    advice === undefined
      ? `TLS handshake with ${target} failed: ${cause.message}`
      : `TLS certificate of ${target} was rejected: ${cause.message}. ${advice}`;
  return Object.assign(new Error(message, { cause }), { code });
}

/** Advice for the rustls verification errors that a configuration change can fix. */
function verificationAdvice(message: string, identity: string): string | undefined {
  if (!message.includes('invalid peer certificate')) return undefined;
  if (message.includes('not valid for name')) {
    const fix = 'Connect by a name it lists or set tls.servername';
    return `The certificate does not list ${identity}. ${fix}`;
  }
  // Older rustls versions print `Expired`, newer ones `certificate expired: …`.
  if (/expired|not ?valid ?yet/i.test(message)) {
    return 'Renew the server certificate or correct the clock of this machine';
  }
  if (message.includes('UnknownIssuer')) {
    return 'If the server uses a private or self-signed CA, pass its certificate in tls.ca';
  }
  return undefined;
}
