/**
 * TLS for the Node adapter: the STARTTLS handshake on a plain socket, the options shared
 * with implicit TLS and the `TlsDetails` record. Core words the verification errors.
 * Verification is on unless the caller turns it off, and nothing here falls back to an
 * unverified connection.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import {
  describeCertificate,
  type PeerCertificateFields,
  type TlsDetails,
  type TlsOptions,
  type TlsUpgradeOptions,
  wrapTlsError,
} from '@mailwire/core';

type TlsModule = typeof tls;

let tlsModule: Promise<TlsModule> | undefined;

/**
 * Load `node:tls` on first use. Loading it adds about 2 MB of resident memory on Node 20,
 * which a plain connection never needs.
 */
export function loadTls(): Promise<TlsModule> {
  tlsModule ??= import('node:tls');
  return tlsModule;
}

/** `tls.connect` options for `host`, plus the name the certificate is checked against. */
export interface TlsConnectSettings {
  options: tls.ConnectionOptions;
  /** Name checked against the certificate: `tls.servername` when given, otherwise the host. */
  identity: string;
}

/** Translate the adapter-neutral TLS options into `tls.connect` options for `host`. */
export function buildTlsSettings(
  tlsApi: TlsModule,
  host: string,
  options: TlsOptions,
): TlsConnectSettings {
  const identity = options.servername ?? host;
  const connectOptions: tls.ConnectionOptions = {
    host,
    rejectUnauthorized: options.rejectUnauthorized ?? true,
    checkServerIdentity: (_name, certificate) => tlsApi.checkServerIdentity(identity, certificate),
  };

  // RFC 6066 §3: SNI carries host names only, never an address literal. Without a servername
  // the identity check above still runs against the address.
  if (net.isIP(identity) === 0) connectOptions.servername = identity;
  if (options.ca !== undefined) {
    connectOptions.ca = typeof options.ca === 'string' ? options.ca : [...options.ca];
  }
  if (options.minVersion !== undefined) {
    connectOptions.minVersion = options.minVersion as tls.SecureVersion;
  }
  return { options: connectOptions, identity };
}

/**
 * Run the client side of a STARTTLS handshake on `socket`, which must no longer have readers
 * of its own. Rejects with an `Error` that keeps Node's `code` when verification or the
 * handshake fails, and destroys the connection then.
 */
export async function upgradeTls(
  socket: net.Socket,
  options: TlsUpgradeOptions,
): Promise<{ socket: tls.TLSSocket; details: TlsDetails }> {
  const tlsApi = await loadTls();
  const settings = buildTlsSettings(tlsApi, options.host, options);

  let secure: tls.TLSSocket;
  try {
    secure = tlsApi.connect({ ...settings.options, socket });
  } catch (error) {
    socket.destroy();
    throw wrapTlsError(error, options.host, settings.identity);
  }

  try {
    await waitForSecureConnect(secure);
  } catch (error) {
    secure.destroy();
    socket.destroy();
    throw wrapTlsError(error, options.host, settings.identity);
  }
  return { socket: secure, details: describeTls(secure, settings.identity) };
}

/** Resolve on 'secureConnect'; reject on 'error' or when the socket closes first. */
export function waitForSecureConnect(socket: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      socket.off('secureConnect', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onSecure = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => {
      const message = 'Connection closed before the TLS handshake finished';
      settle(Object.assign(new Error(message), { code: 'ECONNRESET' }));
    };
    socket.on('secureConnect', onSecure);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

/** Describe an established TLS connection for the transcript and for `verify()`. */
export function describeTls(socket: tls.TLSSocket, serverName: string): TlsDetails {
  // getPeerCertificate() returns an empty object when the server sent no certificate. Its
  // subject and issuer are `tls.Certificate` interfaces, which lack an index signature.
  const certificate = socket.getPeerCertificate() as unknown as PeerCertificateFields;
  // Node leaves authorizationError null once verification succeeded.
  const authorizationError = socket.authorizationError as Error | string | null | undefined;

  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.name,
    serverName,
    ...describeCertificate(certificate),
    authorized: socket.authorized,
    authorizationError: authorizationError == null ? undefined : String(authorizationError),
  };
}
