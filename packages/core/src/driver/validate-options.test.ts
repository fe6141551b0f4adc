import { describe, expect, it } from 'vitest';
import { SmtpUsageError } from '../errors.js';
import { MAX_TIMEOUT_MS } from '../limits.js';
import type { TransporterOptions } from './options.js';
import { validateOptions } from './validate-options.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function messageOf(options: unknown): string {
  try {
    validateOptions(options as TransporterOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SmtpUsageError);
    expect((error as SmtpUsageError).code).toBe('EINPUT');
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('validateOptions', () => {
  it('accepts a full set of valid options', () => {
    expect(() =>
      validateOptions({
        host: 'smtp.example.test',
        port: 587,
        secure: false,
        startTls: 'required',
        auth: { user: 'alice', pass: 'secret', method: 'PLAIN' },
        allowInsecureAuth: false,
        tls: { ca: PEM, servername: 'smtp.example.test', rejectUnauthorized: true },
        clientName: 'client.example.test',
        connectionTimeout: 1000,
        greetingTimeout: 2000,
        commandTimeout: 3000,
        dataTimeout: 4000,
        logFile: 'smtp.log',
        logFormat: 'jsonl',
        logBody: 'headers',
        lmtp: false,
        chunking: true,
        pool: true,
        maxConnections: 2,
        maxMessages: 10,
        idleTimeout: 5000,
      }),
    ).not.toThrow();
  });

  it.each([
    [{ host: 'smtp.example.test', hots: 1 }, /^Unknown option hots \(did you mean host\?\): /],
    [
      { host: 'smtp.example.test', greetingTimout: 1 },
      /^Unknown option greetingTimout \(did you mean greetingTimeout\?\)/,
    ],
    [
      { host: 'smtp.example.test', timeout: 1 },
      /^Unknown option timeout: known options are host, port, /,
    ],
    [
      { host: 'x', auth: { user: 'a', password: 'b' } },
      /^Unknown option auth\.password \(did you mean pass\?\)/,
    ],
    [{ host: 'x', tls: { rejectUnauthorised: false } }, /^Unknown option tls\.rejectUnauthorised /],
  ])('rejects unknown option names, naming the option: %j', (options, pattern) => {
    expect(messageOf(options)).toMatch(pattern);
  });

  it('hides the value of an unknown auth option', () => {
    expect(messageOf({ host: 'x', auth: { user: 'a', password: 'hunter2' } })).not.toContain(
      'hunter2',
    );
  });

  it.each(['connectionTimeout', 'greetingTimeout', 'commandTimeout', 'dataTimeout', 'idleTimeout'])(
    'rejects %s given as text, naming the unit',
    (name) => {
      expect(messageOf({ host: 'x', [name]: '30s' })).toMatch(
        new RegExp(
          `^Invalid option ${name}: got "30s", expected a positive number of milliseconds`,
        ),
      );
    },
  );

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, MAX_TIMEOUT_MS + 1])(
    'rejects a timeout of %s',
    (value) => {
      const message = messageOf({ host: 'x', commandTimeout: value });

      expect(message).toMatch(new RegExp(`^Invalid option commandTimeout: got ${value}, `));
      expect(message).toContain('expected a positive number of milliseconds');
    },
  );

  it('accepts the largest timeout', () => {
    expect(() => validateOptions({ host: 'x', dataTimeout: MAX_TIMEOUT_MS })).not.toThrow();
  });

  it.each([
    ['host', { host: '' }, 'Invalid option host: got "", expected a host name or IP address'],
    ['host', { host: 'smtp example' }, 'Invalid option host: got "smtp example"'],
    ['host', { host: 'smtp://x' }, 'Invalid option host: got "smtp://x"'],
    ['host', { host: 42 }, 'Invalid option host: got 42'],
    [
      'port',
      { host: 'x', port: 0 },
      'Invalid option port: got 0, expected an integer from 1 to 65535',
    ],
    ['port', { host: 'x', port: 65536 }, 'Invalid option port: got 65536'],
    ['port', { host: 'x', port: 25.5 }, 'Invalid option port: got 25.5'],
    ['port', { host: 'x', port: '25' }, 'Invalid option port: got "25"'],
    [
      'secure',
      { host: 'x', secure: 'yes' },
      'Invalid option secure: got "yes", expected true or false',
    ],
    ['pool', { host: 'x', pool: 1 }, 'Invalid option pool: got 1, expected true or false'],
    [
      'startTls',
      { host: 'x', startTls: 'always' },
      "expected 'opportunistic', 'required', 'never'",
    ],
    [
      'logFormat',
      { host: 'x', logFormat: 'csv' },
      "Invalid option logFormat: got \"csv\", expected 'text', 'jsonl'",
    ],
    ['logBody', { host: 'x', logBody: true }, 'Invalid option logBody: got true'],
    ['logFile', { host: 'x', logFile: '' }, 'Invalid option logFile: got "", expected a file path'],
    ['maxConnections', { host: 'x', maxConnections: 0 }, 'expected a whole number of at least 1'],
    ['maxMessages', { host: 'x', maxMessages: 1.5 }, 'Invalid option maxMessages: got 1.5'],
    ['clientName', { host: 'x', clientName: 'my client' }, 'Invalid clientName "my client"'],
    [
      'tls.rejectUnauthorized',
      { host: 'x', tls: { rejectUnauthorized: 'no' } },
      'Invalid option tls.rejectUnauthorized',
    ],
    [
      'tls.ca',
      { host: 'x', tls: { ca: '/etc/ssl/ca.pem' } },
      'Invalid option tls.ca: expected PEM text',
    ],
    ['tls.ca', { host: 'x', tls: { ca: [PEM, 42] } }, 'Invalid option tls.ca: expected PEM text'],
    [
      'auth.user',
      { host: 'x', auth: { pass: 'p' } },
      'Invalid option auth.user: expected the login name',
    ],
    [
      'auth',
      { host: 'x', auth: { user: 'a' } },
      'Invalid option auth: give auth.pass or auth.accessToken',
    ],
    [
      'auth.method',
      { host: 'x', auth: { user: 'a', pass: 'p', method: 5 } },
      'Invalid option auth.method',
    ],
  ])('rejects an invalid %s, naming it', (_, options, expected) => {
    expect(messageOf(options)).toContain(expected);
  });

  it('rejects secure together with startTls required', () => {
    expect(messageOf({ host: 'x', secure: true, startTls: 'required' })).toMatch(
      /^Invalid options: secure: true already encrypts/,
    );
  });

  it.each([null, 'smtp.example.test', 42])('rejects %j instead of an options object', (value) => {
    expect(messageOf(value)).toBe('Invalid options: expected an object with at least host');
  });

  describe('credentials in messages', () => {
    it.each([
      ['auth.pass as a number', { user: 'a', pass: 73501234 }, '73501234', 'auth.pass'],
      [
        'auth.accessToken as a number',
        { user: 'a', accessToken: 98765432 },
        '98765432',
        'auth.accessToken',
      ],
      ['auth given as a password string', 'hunter2-secret', 'hunter2-secret', 'auth'],
      ['auth given as a user:pass string', 'alice:hunter2-secret', 'hunter2-secret', 'auth'],
    ])('never echo %s', (_, auth, secret, name) => {
      const message = messageOf({ host: 'x', auth });

      expect(message).toMatch(new RegExp(`^Invalid option ${name.replace('.', '\\.')}: `));
      expect(message).not.toContain(secret);
    });
  });
});
