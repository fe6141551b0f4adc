import { describe, expect, it } from 'vitest';
import {
  addressLiteral,
  type CommandParameters,
  checkAddress,
  checkClientName,
  checkParameters,
  encodeXtext,
  formatParameters,
} from './commands.js';
import { SmtpUsageError } from './errors.js';

function usageError(run: () => unknown): SmtpUsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SmtpUsageError);
    return error as SmtpUsageError;
  }
  throw new Error('expected a usage error');
}

describe('checkAddress', () => {
  it.each([
    'user@example.test',
    'first.last+tag@sub.example.test',
    'a@b@example.test',
    'ü@例え.jp',
  ])('accepts %j', (address) => {
    expect(checkAddress(address, 'recipient address')).toBe(address);
  });

  it.each([
    ['CR', 'user@example.test\rRCPT TO:<victim@example.test>'],
    ['LF', 'user@example.test\nRCPT TO:<victim@example.test>'],
    ['CRLF', 'user@example.test\r\nDATA'],
    ['NUL', 'user\0@example.test'],
    ['<', '<user@example.test'],
    ['>', 'user@example.test> NOTIFY=NEVER'],
    ['a tab', 'user\t@example.test'],
    ['DEL', 'user\x7f@example.test'],
  ])('rejects %s and names the field', (_, address) => {
    const error = usageError(() => checkAddress(address, 'envelope.to[2]'));

    expect(error.code).toBe('EINPUT');
    expect(error.message).toMatch(/^Invalid envelope\.to\[2\] /);
    expect(error.message).toContain('must not contain CR, LF, NUL');
    expect(error.message).not.toMatch(/[\r\n\0]/);
  });

  it.each([
    ['no @', 'user'],
    ['nothing before @', '@example.test'],
    ['nothing after @', 'user@'],
    ['an empty recipient', ''],
  ])('rejects an address with %s', (_, address) => {
    const error = usageError(() => checkAddress(address, 'recipient address'));

    expect(error.message).toBe(
      `Invalid recipient address ${JSON.stringify(address)}: expected local-part@domain`,
    );
  });

  it('accepts the null reverse path where allowed', () => {
    expect(checkAddress('', 'sender address', true)).toBe('');
  });

  it.each([
    [42, 'number'],
    [undefined, 'undefined'],
    [null, 'object'],
  ])('rejects %j, naming its type', (value, type) => {
    const error = usageError(() => checkAddress(value, 'envelope.from'));

    expect(error.message).toBe(`Invalid envelope.from: expected an address string, got ${type}`);
  });
});

describe('checkParameters', () => {
  it('accepts ordinary parameters', () => {
    expect(() =>
      checkParameters(
        { SIZE: 1024, BODY: '8BITMIME', SMTPUTF8: true, ENVID: 'abc+2Bdef', RET: undefined },
        'MAIL FROM',
      ),
    ).not.toThrow();
  });

  it.each([
    ['CR', 'FULL\rRCPT'],
    ['LF', 'FULL\nRCPT'],
    ['NUL', 'FULL\0'],
    ['<', '<x'],
    ['>', 'x>'],
    ['a space', 'FULL HDRS'],
    ['=', 'a=b'],
    ['a control character', 'FULL\x01'],
    ['DEL', 'FULL\x7f'],
  ])('rejects a value with %s and names the field and parameter', (_, value) => {
    const error = usageError(() => checkParameters({ RET: value }, 'MAIL FROM'));

    expect(error.message).toMatch(/^Invalid MAIL FROM parameter RET=/);
    expect(error.message).toContain('encode them as xtext');
    expect(error.message).not.toMatch(/[\r\n\0\x01]/);
  });

  it.each(['SIZE\r\nRCPT', 'NO TIFY', 'A=B', '-X', '', 'NÖTIFY'])(
    'rejects the parameter name %j',
    (name) => {
      const error = usageError(() => checkParameters({ [name]: 'x' }, 'RCPT TO'));

      expect(error.message).toBe(`Invalid RCPT TO parameter name ${JSON.stringify(name)}`);
    },
  );

  it('skips undefined values', () => {
    expect(() => checkParameters({ RET: undefined }, 'MAIL FROM')).not.toThrow();
  });
});

describe('formatParameters', () => {
  it.each<[CommandParameters, string]>([
    [{}, ''],
    [{ SIZE: 100 }, ' SIZE=100'],
    [{ SIZE: 100, BODY: '8BITMIME', SMTPUTF8: true }, ' SIZE=100 BODY=8BITMIME SMTPUTF8'],
    [{ RET: undefined, NOTIFY: 'NEVER' }, ' NOTIFY=NEVER'],
  ])('formats %j as %j', (parameters, expected) => {
    expect(formatParameters(parameters)).toBe(expected);
  });
});

describe('encodeXtext', () => {
  it.each([
    ['', ''],
    ['abc', 'abc'],
    ['user@example.test', 'user@example.test'],
    ['a+b', 'a+2Bb'],
    ['a=b', 'a+3Db'],
    ['a b', 'a+20b'],
    ['!~', '!~'],
    ['\x7f', '+7F'],
    ['\r\n', '+0D+0A'],
    ['\0', '+00'],
    ['é', '+C3+A9'],
    ['<id@host>', '+3Cid@host+3E'],
  ])('encodes %j as %j', (value, expected) => {
    expect(encodeXtext(value)).toBe(expected);
  });

  it('produces a value that checkParameters accepts', () => {
    const encoded = encodeXtext('<id@example.test> with spaces, = and +\r\n');

    expect(() => checkParameters({ ENVID: encoded }, 'MAIL FROM')).not.toThrow();
  });
});

describe('checkClientName', () => {
  it.each(['mail.example.com', '[192.0.2.10]', '[IPv6:2001:db8::1]', 'localhost'])(
    'accepts %j',
    (name) => {
      expect(checkClientName(name)).toBe(name);
    },
  );

  it.each(['', 'mail example', 'mail\r\nMAIL FROM:<x@y>', 'mail\0', 'mail\t'])(
    'rejects %j',
    (name) => {
      const error = usageError(() => checkClientName(name));

      expect(error.message).toMatch(/^Invalid clientName /);
    },
  );
});

describe('addressLiteral', () => {
  it.each([
    [undefined, '[127.0.0.1]'],
    ['', '[127.0.0.1]'],
    ['192.0.2.10', '[192.0.2.10]'],
    ['::ffff:192.0.2.10', '[192.0.2.10]'],
    ['2001:db8::1', '[IPv6:2001:db8::1]'],
    ['::1', '[IPv6:::1]'],
  ])('formats %j as %j', (address, expected) => {
    expect(addressLiteral(address)).toBe(expected);
  });
});
