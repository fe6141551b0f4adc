/**
 * The contract between core's driver and a runtime adapter: a socket that can be upgraded
 * to TLS, a way to open one, and a clock with timers. Core never implements these; each
 * adapter supplies them and little else.
 */

/** Facts from a TLS handshake, recorded as an event in the transcript. */
export interface TlsDetails {
  /** Negotiated protocol, for example `TLSv1.3`. */
  protocol?: string;
  /** Negotiated cipher suite name. */
  cipher?: string;
  /** Server name sent in SNI and checked against the certificate. */
  serverName?: string;
  /** Peer certificate subject, for example `CN=mx.example.test`. */
  subject?: string;
  issuer?: string;
  validFrom?: string;
  validTo?: string;
  /** SHA-256 fingerprint of the peer certificate, colon-separated hex. */
  fingerprint256?: string;
  /** Whether the certificate chain and name were verified. */
  authorized: boolean;
  /** Reason verification failed, when it did and the connection was kept (verification off). */
  authorizationError?: string;
}

/** TLS settings passed through to the adapter. */
export interface TlsOptions {
  /** Trusted CA certificates in PEM; replaces the runtime's default roots where supported. */
  ca?: string | readonly string[];
  /** Name to send in SNI and to verify; defaults to the host. */
  servername?: string;
  /** Verify the certificate chain and host name. Default true. */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version accepted, for example `TLSv1.2`. */
  minVersion?: string;
}

/** An open byte stream to the server. */
export interface SocketLike {
  /**
   * Write bytes. Resolves once the socket no longer needs `bytes`: they went to the operating
   * system or were copied. The caller then reuses that memory for the next chunk, so an
   * adapter that keeps a reference must resolve only after it let go of it. The wait is
   * also the backpressure.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Next chunk of bytes, or `null` when the server closed its side. */
  read(): Promise<Uint8Array | null>;
  /**
   * Run a TLS handshake on this connection (STARTTLS) and return the encrypted socket.
   * This socket must not be used afterwards.
   */
  upgradeTls(options: TlsUpgradeOptions): Promise<TlsSocketResult>;
  /** Close the connection; safe to call more than once. */
  close(): void;
  /** Local address of the connection, used for the default EHLO name. */
  readonly localAddress?: string;
  /** Remote address actually connected to. */
  readonly remoteAddress?: string;
}

export interface TlsUpgradeOptions extends TlsOptions {
  /** Host the caller asked for; the default server name. */
  host: string;
}

export interface TlsSocketResult {
  socket: SocketLike;
  details: TlsDetails;
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** Implicit TLS: the handshake starts as soon as TCP connects. */
  secure: boolean;
  tls: TlsOptions;
}

/** Result of opening a connection. `tls` is set when `secure` was requested. */
export interface ConnectResult {
  socket: SocketLike;
  tls?: TlsDetails;
}

/** Opens connections. Rejects with an `Error` whose `code` names the failure when known. */
export interface Connector {
  connect(options: ConnectOptions): Promise<ConnectResult>;
}

/** Opaque timer handle returned by a `Clock`. */
export type TimerHandle = unknown;

/** Time source and timers. Tests pass a fake clock and advance it by hand. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
