/**
 * An in-memory SMTP server for driver tests. It plays a script against the command lines the
 * client writes, through a `Connector` and `SocketLike` pair, so no test opens a socket. Time
 * passes only on the injected clock. It is a test helper that index.ts does not export.
 *
 * The socket behaves like the Node adapter's: reads are served in call order, a read after
 * the server closed returns null, and a TLS upgrade drops the chunks not yet read.
 */
import type {
  Clock,
  ConnectOptions,
  Connector,
  ConnectResult,
  SocketLike,
  TlsDetails,
  TlsSocketResult,
  TlsUpgradeOptions,
} from '../driver/contracts.js';

/** One step of a script, played in order. */
export type ServerStep =
  /** Reply lines, each sent with CRLF, all in one chunk. */
  | { send: string | readonly string[] }
  /** Text sent exactly as given, as UTF-8, in one chunk. */
  | { sendRaw: string }
  /** Read the next command line; a string must match it whole, a pattern anywhere. */
  | { expect: string | RegExp }
  /** Read a DATA body up to and including CRLF.CRLF. */
  | { expectData: true }
  /** Accept the client's next TLS upgrade. */
  | { startTls: true }
  /** Wait on the clock before the next step. */
  | { delayMs: number }
  /** Close the connection: pending and later reads return null. */
  | { close: true }
  /** Break the connection: pending and later reads fail with ECONNRESET. */
  | { reset: true };

/** How the connector answers `connect`. */
export type ConnectBehaviour = 'accept' | 'hang' | { error: string; code: string };

export interface FakeServerOptions {
  script: readonly ServerStep[];
  /** Needed for `delayMs` steps. */
  clock?: Clock;
  connect?: ConnectBehaviour;
  /** Local address reported by the socket, used for the default EHLO name. */
  localAddress?: string;
}

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

const TLS_DETAILS: TlsDetails = {
  protocol: 'TLSv1.3',
  cipher: 'TLS_AES_256_GCM_SHA384',
  subject: 'CN=mx.example.test',
  authorized: true,
};

/** Text with one character per byte, so DATA bodies keep every byte as it was sent. */
function byteText(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

function textBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

type Delivery = Uint8Array | null | Error;

interface PendingRead {
  resolve(chunk: Uint8Array | null): void;
  reject(error: Error): void;
}

/** One end of the in-memory connection, as the client sees it. */
class FakeSocket implements SocketLike {
  readonly localAddress: string;
  readonly remoteAddress = '192.0.2.25';
  closed = false;
  /** Bytes queued but never read, dropped when the socket was upgraded. */
  droppedOnUpgrade = 0;
  private queue: Delivery[] = [];
  private readers: PendingRead[] = [];
  private finished: Delivery | undefined;
  private detached = false;

  constructor(
    private readonly server: FakeServer,
    localAddress: string,
  ) {
    this.localAddress = localAddress;
  }

  read(): Promise<Uint8Array | null> {
    const next = this.queue.shift() ?? this.finished;
    if (next instanceof Error) return Promise.reject(next);
    if (next !== undefined) return Promise.resolve(next);
    if (this.closed || this.detached) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.closed || this.detached) return Promise.reject(new Error('write after close'));
    this.server.receive(bytes);
    return Promise.resolve();
  }

  upgradeTls(options: TlsUpgradeOptions): Promise<TlsSocketResult> {
    this.droppedOnUpgrade = this.queue.reduce(
      (sum, item) => sum + (item instanceof Uint8Array ? item.length : 0),
      0,
    );
    this.queue = [];
    this.detached = true;
    this.settleReaders(null);
    return this.server.upgrade(options);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.settleReaders(null);
    this.server.clientClosed();
  }

  /** Hand a chunk, the end of input (null) or a failure to the next reader. */
  deliver(item: Delivery): void {
    if (this.closed || this.detached) return;
    if (item === null || item instanceof Error) this.finished = item;
    const reader = this.readers.shift();
    if (!reader) {
      if (item instanceof Uint8Array) this.queue.push(item);
      return;
    }
    if (item instanceof Error) reader.reject(item);
    else reader.resolve(item);
    if (item === null || item instanceof Error) this.settleReaders(item);
  }

  private settleReaders(item: null | Error): void {
    for (const reader of this.readers.splice(0)) {
      if (item instanceof Error) reader.reject(item);
      else reader.resolve(item);
    }
  }
}

/** A scripted server with the connector that reaches it and a record of what it saw. */
export class FakeServer {
  readonly connector: Connector;
  /** Options of every connect call. */
  readonly connects: ConnectOptions[] = [];
  /** Options of every TLS upgrade the server accepted. */
  readonly tlsUpgrades: TlsUpgradeOptions[] = [];
  /** Command lines from the client in arrival order, DATA bodies excluded. */
  readonly lines: string[] = [];
  /** DATA bodies with one character per byte, up to and including CRLF.CRLF. */
  readonly dataBodies: string[] = [];
  /** The first step the client did not satisfy, described, or null. */
  mismatch: string | null = null;
  /** Whether the client closed the connection. */
  clientClosedConnection = false;
  /** Sockets handed to the client, the upgraded ones included. */
  readonly sockets: FakeSocket[] = [];

  private readonly script: readonly ServerStep[];
  private readonly clock: Clock | undefined;
  private readonly localAddress: string;
  private step = 0;
  private inbox = '';
  private paused = false;
  private stopped = false;

  constructor(options: FakeServerOptions) {
    this.script = options.script;
    this.clock = options.clock;
    this.localAddress = options.localAddress ?? '192.0.2.10';
    const behaviour = options.connect ?? 'accept';
    this.connector = {
      connect: (connectOptions) => this.connect(connectOptions, behaviour),
    };
  }

  /** True once every step of the script has been played. */
  get done(): boolean {
    return this.step >= this.script.length;
  }

  private get socket(): FakeSocket | undefined {
    return this.sockets.at(-1);
  }

  private connect(options: ConnectOptions, behaviour: ConnectBehaviour): Promise<ConnectResult> {
    this.connects.push(options);
    if (behaviour === 'hang') return new Promise(() => {});
    if (behaviour !== 'accept') {
      return Promise.reject(Object.assign(new Error(behaviour.error), { code: behaviour.code }));
    }

    this.sockets.push(new FakeSocket(this, this.localAddress));
    this.play();
    const result: ConnectResult = { socket: this.socket! };
    if (options.secure) result.tls = { ...TLS_DETAILS, serverName: options.host };
    return Promise.resolve(result);
  }

  /** Bytes the client wrote. */
  receive(bytes: Uint8Array): void {
    this.inbox += byteText(bytes);
    this.play();
  }

  upgrade(options: TlsUpgradeOptions): Promise<TlsSocketResult> {
    const step = this.script[this.step];
    if (this.stopped || !step || !('startTls' in step)) {
      this.fail('a TLS upgrade');
      return Promise.reject(Object.assign(new Error('TLS handshake refused'), { code: 'EPROTO' }));
    }

    this.tlsUpgrades.push(options);
    this.sockets.push(new FakeSocket(this, this.localAddress));
    this.step += 1;
    // Bytes that arrived before the handshake belong to the plain connection.
    this.inbox = '';
    this.play();
    return Promise.resolve({
      socket: this.socket!,
      details: { ...TLS_DETAILS, serverName: options.servername ?? options.host },
    });
  }

  clientClosed(): void {
    this.clientClosedConnection = true;
  }

  /** Play steps until one needs input the client has not sent yet. */
  private play(): void {
    while (!this.paused) {
      const step = this.script[this.step];
      if (this.stopped || step === undefined) {
        this.recordTrailingLines();
        return;
      }
      if (!this.playStep(step)) return;
      this.step += 1;
    }
  }

  /** Play one step; false when it must wait for more input, an upgrade or the clock. */
  private playStep(step: ServerStep): boolean {
    const socket = this.socket!;
    if ('send' in step) {
      const lines = typeof step.send === 'string' ? [step.send] : step.send;
      socket.deliver(encoder.encode(lines.map((line) => `${line}\r\n`).join('')));
    } else if ('sendRaw' in step) {
      socket.deliver(encoder.encode(step.sendRaw));
    } else if ('expect' in step) {
      const line = this.takeLine();
      if (line === null) return false;
      const matches =
        typeof step.expect === 'string' ? line === step.expect : step.expect.test(line);
      if (!matches) this.fail(`${String(step.expect)}, got ${JSON.stringify(line)}`);
    } else if ('expectData' in step) {
      return this.takeData();
    } else if ('startTls' in step) {
      return false;
    } else if ('delayMs' in step) {
      this.pause(step.delayMs);
      return false;
    } else if ('close' in step) {
      socket.deliver(null);
      this.stopped = true;
    } else {
      socket.deliver(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      this.stopped = true;
    }
    return true;
  }

  private takeLine(): string | null {
    const end = this.inbox.indexOf('\r\n');
    if (end === -1) return null;
    const line = utf8.decode(textBytes(this.inbox.slice(0, end)));
    this.inbox = this.inbox.slice(end + 2);
    this.lines.push(line);
    return line;
  }

  private takeData(): boolean {
    const end = this.inbox.startsWith('.\r\n') ? 0 : this.inbox.indexOf('\r\n.\r\n');
    if (end === -1) return false;
    const length = end === 0 ? 3 : end + 5;
    this.dataBodies.push(this.inbox.slice(0, length));
    this.inbox = this.inbox.slice(length);
    return true;
  }

  private pause(delayMs: number): void {
    if (!this.clock) throw new Error('FakeServer: a delayMs step needs the clock option');
    this.paused = true;
    this.clock.setTimer(delayMs, () => {
      this.paused = false;
      this.step += 1;
      this.play();
    });
  }

  /** After the script: keep recording command lines so tests can check for QUIT. */
  private recordTrailingLines(): void {
    let line = this.takeLine();
    while (line !== null) line = this.takeLine();
  }

  private fail(expected: string): void {
    this.mismatch ??= `step ${this.step}: expected ${expected}`;
    this.stopped = true;
  }
}
