/**
 * Checking transporter options before anything connects. Every problem is an error that
 * names the option, the value and what is expected, including the unit.
 */
import { checkClientName } from '../commands.js';
import { SmtpUsageError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../limits.js';
import type { TransporterOptions } from './options.js';

const OPTION_NAMES = new Set([
  'host',
  'port',
  'secure',
  'startTls',
  'auth',
  'allowInsecureAuth',
  'tls',
  'clientName',
  'connectionTimeout',
  'greetingTimeout',
  'commandTimeout',
  'dataTimeout',
  'logFile',
  'logFormat',
  'logBody',
  'transcriptSink',
  'lmtp',
  'chunking',
  'pool',
  'maxConnections',
  'maxMessages',
  'idleTimeout',
]);
const AUTH_NAMES = new Set(['user', 'pass', 'accessToken', 'method']);
const TLS_NAMES = new Set(['ca', 'servername', 'rejectUnauthorized', 'minVersion']);

function invalid(name: string, value: unknown, expected: string): SmtpUsageError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new SmtpUsageError(`Invalid option ${name}: got ${shown}, expected ${expected}`);
}

/** Closest known name, for the hint on a misspelled option. */
function suggest(name: string, known: Set<string>): string {
  const lower = name.toLowerCase();
  let best = '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Two edits catch typos such as `logFomat` or `hots` without suggesting unrelated names;
  // a shared start catches longer spellings such as `password` for `pass`.
  const close = bestDistance <= Math.max(2, Math.floor(name.length / 4));
  const prefix = [...known].find((candidate) => {
    const shorter = candidate.length < lower.length ? candidate.toLowerCase() : lower;
    const longer = shorter === lower ? candidate.toLowerCase() : lower;
    return shorter.length >= 4 && longer.startsWith(shorter);
  });
  if (close) return ` (did you mean ${best}?)`;
  return prefix ? ` (did you mean ${prefix}?)` : '';
}

/** Levenshtein distance, with a swap of two neighbouring letters counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, index) => [
    index,
    ...new Array<number>(b.length).fill(0),
  ]);
  for (let column = 0; column <= b.length; column++) rows[0]![column] = column;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

function checkNames(value: object, known: Set<string>, prefix: string): void {
  for (const name of Object.keys(value)) {
    if (!known.has(name)) {
      throw new SmtpUsageError(
        `Unknown option ${prefix}${name}${suggest(name, known)}: known options are ${[...known].join(', ')}`,
      );
    }
  }
}

function checkTimeout(options: TransporterOptions, name: keyof TransporterOptions): void {
  const value = options[name];
  if (value === undefined) return;
  const inRange = typeof value === 'number' && value > 0 && value <= MAX_TIMEOUT_MS;
  if (!inRange) {
    throw invalid(name, value, `a positive number of milliseconds up to ${MAX_TIMEOUT_MS}`);
  }
}

function checkOneOf(name: string, value: unknown, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    throw invalid(name, value, allowed.map((item) => `'${item}'`).join(', '));
  }
}

/** Throw a usage error for the first invalid option. */
export function validateOptions(options: TransporterOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new SmtpUsageError('Invalid options: expected an object with at least host');
  }
  checkNames(options, OPTION_NAMES, '');
  if (
    typeof options.host !== 'string' ||
    options.host.trim() === '' ||
    /[\s/]/.test(options.host)
  ) {
    throw invalid('host', options.host, 'a host name or IP address such as smtp.example.com');
  }
  const port = options.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw invalid('port', port, 'an integer from 1 to 65535');
  }
  for (const name of ['secure', 'allowInsecureAuth', 'lmtp', 'chunking', 'pool'] as const) {
    const value = options[name as keyof TransporterOptions];
    if (value !== undefined && typeof value !== 'boolean')
      throw invalid(name, value, 'true or false');
  }
  checkOneOf('startTls', options.startTls, ['opportunistic', 'required', 'never']);
  checkOneOf('logFormat', options.logFormat, ['text', 'jsonl']);
  checkOneOf('logBody', options.logBody, ['none', 'headers', 'full']);
  for (const name of [
    'connectionTimeout',
    'greetingTimeout',
    'commandTimeout',
    'dataTimeout',
  ] as const) {
    checkTimeout(options, name);
  }
  checkTimeout(options, 'idleTimeout');
  for (const name of ['maxConnections', 'maxMessages'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw invalid(name, value, 'a whole number of at least 1');
    }
  }
  if (
    options.logFile !== undefined &&
    (typeof options.logFile !== 'string' || options.logFile === '')
  ) {
    throw invalid('logFile', options.logFile, 'a file path');
  }
  if (options.clientName !== undefined) checkClientName(options.clientName);
  if (options.secure && options.startTls === 'required') {
    throw new SmtpUsageError(
      "Invalid options: secure: true already encrypts from the first byte, so startTls: 'required' " +
        'does not apply; drop one of them',
    );
  }
  checkAuth(options);
  checkTls(options);
}

function checkAuth(options: TransporterOptions): void {
  const auth = options.auth;
  if (auth === undefined) return;
  if (typeof auth !== 'object' || auth === null) {
    // The value may be the password itself, so only its type is named.
    const type = auth === null ? 'null' : typeof auth;
    throw new SmtpUsageError(`Invalid option auth: expected an object { user, pass }, got ${type}`);
  }
  checkNames(auth, AUTH_NAMES, 'auth.');
  if (typeof auth.user !== 'string') {
    throw new SmtpUsageError('Invalid option auth.user: expected the login name as a string');
  }
  const hasPass = auth.pass !== undefined;
  const hasToken = auth.accessToken !== undefined;
  if (hasPass && typeof auth.pass !== 'string') {
    // The value itself is a secret, so only its type is named.
    throw new SmtpUsageError(
      `Invalid option auth.pass: expected a string, got ${typeof auth.pass}`,
    );
  }
  if (hasToken && typeof auth.accessToken !== 'string' && typeof auth.accessToken !== 'function') {
    throw new SmtpUsageError(
      `Invalid option auth.accessToken: expected a string or a function, got ${typeof auth.accessToken}`,
    );
  }
  if (!hasPass && !hasToken) {
    throw new SmtpUsageError('Invalid option auth: give auth.pass or auth.accessToken');
  }
  if (auth.method !== undefined && typeof auth.method !== 'string') {
    throw invalid('auth.method', auth.method, 'a SASL mechanism name such as PLAIN');
  }
}

function checkTls(options: TransporterOptions): void {
  const tls = options.tls;
  if (tls === undefined) return;
  if (typeof tls !== 'object' || tls === null) throw invalid('tls', tls, 'an object');
  checkNames(tls, TLS_NAMES, 'tls.');
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') {
    throw invalid('tls.rejectUnauthorized', tls.rejectUnauthorized, 'true or false');
  }
  const caList = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca];
  if (caList.some((item) => typeof item !== 'string' || !item.includes('BEGIN CERTIFICATE'))) {
    throw new SmtpUsageError(
      'Invalid option tls.ca: expected PEM text (-----BEGIN CERTIFICATE-----), or a list of them; ' +
        'read the file first, for example with readFileSync(path, "utf8")',
    );
  }
}
