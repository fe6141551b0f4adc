// Minimal declarations of the Bun globals and `node:` modules this adapter uses, so that it
// compiles without Bun's or Node's full typings.

declare namespace Bun {
  interface PeerCertificate {
    subject?: Record<string, string | string[]>;
    issuer?: Record<string, string | string[]>;
    valid_from?: string;
    valid_to?: string;
    fingerprint256?: string;
  }

  interface Socket {
    readonly localAddress?: string;
    readonly remoteAddress?: string;
    /** Bytes taken by the kernel, which may be fewer than given; -1 once the socket is closed. */
    write(data: Uint8Array): number;
    end(): void;
    terminate(): void;
    pause(): void;
    resume(): void;
    upgradeTLS(options: { tls: TlsOptions; socket: SocketHandler }): [Socket, Socket];
    getTLSVersion?(): string | null;
    getCipher?(): { name?: string } | null;
    getPeerCertificate?(): PeerCertificate | null;
  }

  interface SocketHandler {
    data(socket: Socket, data: Uint8Array): void;
    drain(socket: Socket): void;
    end(socket: Socket): void;
    close(socket: Socket, error?: Error): void;
    error(socket: Socket, error: Error): void;
    connectError(socket: Socket, error: Error): void;
    handshake(socket: Socket, success: boolean, authorizationError: Error | null): void;
  }

  interface TlsOptions {
    ca?: string | string[];
    serverName?: string;
    rejectUnauthorized?: boolean;
  }

  function connect(options: {
    hostname: string;
    port: number;
    tls?: TlsOptions;
    socket: SocketHandler;
  }): Promise<Socket>;
}

declare const process: { readonly pid: number; readonly env: Record<string, string | undefined> };

declare function setTimeout(callback: () => void, delayMs: number): { unref?(): void };
declare function clearTimeout(timer: unknown): void;
declare function queueMicrotask(callback: () => void): void;
declare const console: { warn(...values: unknown[]): void };
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

declare class TextEncoder {
  encode(input?: string): Uint8Array;
}

declare module 'node:fs/promises' {
  export function appendFile(
    path: string,
    data: Uint8Array,
    options: { mode: number },
  ): Promise<void>;
  export function stat(path: string): Promise<{ size: number }>;
  export function rename(oldPath: string, newPath: string): Promise<void>;
  export function rm(path: string, options: { force: boolean }): Promise<void>;
}

declare module 'node:fs' {
  export function openSync(path: string, flags: string): number;
  export function fstatSync(fd: number): { size: number };
  export function readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  export function closeSync(fd: number): void;
}

declare module 'node:path' {
  export function resolve(...paths: string[]): string;
  export function extname(path: string): string;
}
