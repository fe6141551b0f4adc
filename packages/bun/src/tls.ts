/**
 * TLS for Bun sockets: the STARTTLS upgrade through `socket.upgradeTLS`, and the handshake
 * result of both STARTTLS and implicit TLS turned into `TlsDetails`. Certificate checks follow
 * `rejectUnauthorized`, which defaults to true whatever NODE_TLS_REJECT_UNAUTHORIZED is set to.
 */
import {
  describeCertificate,
  type TlsDetails,
  type TlsOptions,
  type TlsUpgradeOptions,
  wrapTlsError,
} from '@mailwire/core';
import type { SocketEvents } from './socket.js';

/** The encrypted socket and what the handshake revealed. */
export interface TlsUpgrade {
  socket: Bun.Socket;
  details: TlsDetails;
}

/** Protocol versions in order, for checking `minVersion`, which Bun cannot set itself. */
const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Bun's TLS settings for a connection to `host`. */
export function bunTlsOptions(options: TlsOptions, host: string): Bun.TlsOptions {
  const ca = options.ca === undefined ? undefined : [options.ca].flat();
  const identity = options.servername ?? host;
  // Server Name Indication carries host names only. Without `serverName` Bun checks the
  // certificate against the dialled address, which is the identity in that case.
  const serverName = isAddressLiteral(identity) && identity === host ? undefined : identity;
  return { ca, serverName, rejectUnauthorized: options.rejectUnauthorized !== false };
}

function isAddressLiteral(name: string): boolean {
  return name.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

/**
 * Run a client TLS handshake on the connected plain socket `raw`. `events` receives the
 * callbacks of the encrypted socket; Bun keeps delivering the raw records to the old handlers,
 * which the caller has muted.
 */
export async function upgradeTls(
  raw: Bun.Socket,
  options: TlsUpgradeOptions,
  events: SocketEvents,
): Promise<TlsUpgrade> {
  const tls = bunTlsOptions(options, options.host);
  const handshake = waitForHandshake(events, tls);
  let socket: Bun.Socket | undefined;
  try {
    socket = raw.upgradeTLS({ tls, socket: events.handlers })[1];
    const authorizationError = await handshake;
    return { socket, details: describeTls(socket, options, options.host, authorizationError) };
  } catch (error) {
    (socket ?? raw).terminate();
    throw wrapTlsError(error, options.host, tls.serverName ?? options.host);
  }
}

/**
 * Wait for the handshake on the socket behind `events`. Rejects with Bun's verification error
 * (its `code` is the OpenSSL name, for example `UNABLE_TO_VERIFY_LEAF_SIGNATURE`) or with the
 * error that closed the socket. Resolves with the verification error that `tls` chose to
 * ignore, or null.
 */
export function waitForHandshake(events: SocketEvents, tls: Bun.TlsOptions): Promise<Error | null> {
  return new Promise((resolve, reject) => {
    events.onHandshake = (success, error) => {
      const rejected = !success || (error !== null && tls.rejectUnauthorized !== false);
      if (rejected) reject(error ?? new Error('TLS handshake failed'));
      else resolve(error);
    };
  });
}

/**
 * Read the negotiated version, cipher and peer certificate from a TLS socket whose handshake
 * succeeded. Throws when the version is below `minVersion`; the caller closes the socket.
 */
export function describeTls(
  socket: Bun.Socket,
  options: TlsOptions,
  host: string,
  authorizationError: Error | null,
): TlsDetails {
  const protocol = socket.getTLSVersion?.() ?? undefined;
  checkMinVersion(protocol, options.minVersion);

  const certificate = socket.getPeerCertificate?.() ?? {};
  return {
    protocol,
    cipher: socket.getCipher?.()?.name,
    serverName: options.servername ?? host,
    ...describeCertificate(certificate),
    // With verification on, a failed check ends the handshake, so only a connection kept
    // with verification off gets here unauthorized.
    authorized: authorizationError === null,
    authorizationError: authorizationError?.message,
  };
}

function checkMinVersion(protocol: string | undefined, minVersion: string | undefined): void {
  if (minVersion === undefined) return;
  const lowest = TLS_VERSIONS.indexOf(minVersion);
  const actual = protocol === undefined ? -1 : TLS_VERSIONS.indexOf(protocol);
  if (lowest < 0 || actual >= lowest) return;

  const chosen = protocol ?? 'an unknown version';
  const message = `the server chose ${chosen}, below minVersion ${minVersion}`;
  throw Object.assign(new Error(message), { code: 'ETLS' });
}
