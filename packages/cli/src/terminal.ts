/**
 * Exit statuses, colour and the input error of the command-line tool. Results go to stdout
 * and diagnostics to stderr; nothing here decides what to print.
 */

/** Exit statuses shared by every subcommand. */
export const EXIT = {
  /** Everything worked: all recipients accepted, the probe passed, the file was read. */
  ok: 0,
  /** Sending or probing failed: an SMTP reply, TLS, a timeout or the connection. */
  failed: 1,
  /** Invalid usage or input; nothing was sent. */
  usage: 2,
  /** The message went out, but the server rejected some recipients. */
  partial: 3,
} as const;

/** Invalid input found by the tool itself before anything was sent. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Writable stream as far as colour detection needs it. */
interface TerminalStream {
  isTTY?: boolean;
}

/**
 * Decide whether to colour output written to `stream`: only on a terminal, and never when
 * NO_COLOR is set to a non-empty value (https://no-color.org) or TERM is `dumb`.
 */
export function colourEnabled(
  stream: TerminalStream,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof CODES;

/** Functions that wrap text in ANSI styles, or return it unchanged when colour is off. */
export type Palette = Record<Style, (text: string) => string>;

/** Build a palette for a stream; plain when colour is off for it. */
export function createPalette(enabled: boolean): Palette {
  const palette = {} as Palette;
  for (const [name, [open, close]] of Object.entries(CODES)) {
    palette[name as Style] = enabled
      ? (text) => `\u001b[${open}m${text}\u001b[${close}m`
      : (text) => text;
  }
  return palette;
}

/** Message of any thrown value, for diagnostics. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Print a diagnostic line on stderr, prefixed with the program name. */
export function printError(message: string): void {
  process.stderr.write(`mailwire: ${message}\n`);
}
