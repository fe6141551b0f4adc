import { describe, expect, it } from 'vitest';
import { parseQueueId } from './queue-id.js';

describe('parseQueueId', () => {
  it.each([
    ['Postfix', '250 2.0.0 Ok: queued as 4Q1TQs0Xyz', '4Q1TQs0Xyz'],
    ['Postfix with long queue ids', '250 2.0.0 Ok: queued as 4Y8GdT3zKQz9vBw', '4Y8GdT3zKQz9vBw'],
    ['Exim', '250 OK id=1tJ2kq-000ABC-De', '1tJ2kq-000ABC-De'],
    [
      'Microsoft',
      '250 2.6.0 <a1@example.test> [InternalId=12345678901, ' +
        'Hostname=AM0PR01MB1234.eurprd01.prod.exchangelabs.com] 9483 bytes in 0.071, ' +
        '130.184 KB/sec Queued mail for delivery',
      '12345678901',
    ],
    [
      'Gmail',
      '250 2.0.0 OK  1733322222 a1b2c3d4e5f6-1234abcd.5 - gsmtp',
      'a1b2c3d4e5f6-1234abcd.5',
    ],
    ['Gmail with trailing white space', '250 2.0.0 OK  1733322222 abc.5 - gsmtp  ', 'abc.5'],
    ['a multi-line reply', '250-first line\n250 2.0.0 Ok: queued as ABC123', 'ABC123'],
  ])('finds the %s queue id', (_, text, expected) => {
    expect(parseQueueId(text)).toBe(expected);
  });

  it.each([
    ['an unknown format', '250 2.0.0 Message accepted for delivery'],
    ['an empty text', ''],
    ['"queued as" without an id', '250 queued as'],
  ])('returns null for %s', (_, text) => {
    expect(parseQueueId(text)).toBeNull();
  });
});
