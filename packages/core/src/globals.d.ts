// Minimal declarations of the web-standard globals that core uses. Core compiles without DOM
// or runtime typings so that nothing runtime-specific can slip in.

declare class TextEncoder {
  encode(input?: string): Uint8Array;
  encodeInto(source: string, destination: Uint8Array): { read: number; written: number };
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}

/** The part of Web Crypto that core uses; absent in runtimes without it. */
declare var crypto: { getRandomValues<T extends Uint8Array>(array: T): T } | undefined;
