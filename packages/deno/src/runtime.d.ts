// Minimal declarations of the Deno globals this adapter uses, so that it compiles with tsc and
// without Deno's full typings. Deno itself type-checks the sources against its own lib.

declare namespace Deno {
  interface NetAddr {
    hostname: string;
    port: number;
  }

  interface Conn {
    readonly localAddr: NetAddr;
    readonly remoteAddr: NetAddr;
    read(buffer: Uint8Array): Promise<number | null>;
    write(bytes: Uint8Array): Promise<number>;
    close(): void;
  }

  interface TcpConn extends Conn {
    setNoDelay(noDelay?: boolean): void;
  }

  interface TlsConn extends Conn {
    handshake(): Promise<{ alpnProtocol: string | null }>;
  }

  function connect(options: { hostname: string; port: number }): Promise<TcpConn>;
  function startTls(
    conn: TcpConn,
    options: { hostname: string; caCerts?: string[] },
  ): Promise<TlsConn>;

  interface WriteFileOptions {
    append?: boolean;
    create?: boolean;
    mode?: number;
  }
  function writeFile(path: string, data: Uint8Array, options?: WriteFileOptions): Promise<void>;
  function stat(path: string): Promise<{ size: number }>;
  interface FsFile {
    statSync(): { size: number };
    seekSync(offset: number, whence: SeekMode): number;
    readSync(buffer: Uint8Array): number | null;
    close(): void;
  }
  enum SeekMode {
    Start = 0,
  }
  function openSync(path: string, options: { read: boolean }): FsFile;
  function rename(oldPath: string, newPath: string): Promise<void>;
  function remove(path: string): Promise<void>;
  function cwd(): string;
  function unrefTimer(id: number): void;

  const pid: number;
  const env: { get(key: string): string | undefined };
  const permissions: {
    querySync(descriptor: { readonly name: 'env'; readonly variable: string }): { state: string };
  };
  const errors: {
    NotFound: ErrorConstructor;
    NotCapable: ErrorConstructor;
    PermissionDenied: ErrorConstructor;
  };
}

declare function setTimeout(callback: () => void, delayMs: number): number;
declare function clearTimeout(id: number): void;
declare function queueMicrotask(callback: () => void): void;
declare const console: { warn(...values: unknown[]): void };
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
