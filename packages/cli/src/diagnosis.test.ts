import { describe, expect, it } from 'vitest';
import { splitConnections } from './conversation.js';
import { analyseConnection, diagnose } from './diagnosis.js';
import { detectService, type FailureContext } from './diagnosis-rules.js';
import { describeEnhancedCode, describeReplyCode } from './reply-codes.js';
import { readTranscript } from './transcript-reader.js';

function context(overrides: Partial<FailureContext>): FailureContext {
  return {
    kind: 'reply',
    phase: 'rcpt',
    verb: 'RCPT',
    code: 550,
    enhancedCode: null,
    text: '',
    secure: true,
    authenticated: false,
    service: null,
    port: 587,
    implicitTls: false,
    ...overrides,
  };
}

describe('diagnose', () => {
  const cases: Array<[string, Partial<FailureContext>, string]> = [
    [
      '535 5.7.8 at AUTH on Gmail',
      { phase: 'auth', verb: 'AUTH', code: 535, enhancedCode: '5.7.8', service: 'Gmail' },
      'auth-app-password',
    ],
    [
      '535 at AUTH elsewhere',
      { phase: 'auth', verb: 'AUTH', code: 535 },
      'auth-credentials-rejected',
    ],
    [
      '534 5.7.9 at AUTH',
      { phase: 'auth', verb: 'AUTH', code: 534, enhancedCode: '5.7.9' },
      'auth-app-password',
    ],
    [
      '530 at AUTH without TLS',
      {
        phase: 'auth',
        verb: 'AUTH',
        code: 530,
        enhancedCode: '5.7.0',
        secure: false,
        text: 'Authentication required',
      },
      'starttls-first',
    ],
    [
      '530 at MAIL with TLS',
      {
        phase: 'mail',
        verb: 'MAIL',
        code: 530,
        enhancedCode: '5.7.0',
        text: 'Authentication Required.',
      },
      'auth-required',
    ],
    [
      '530 naming STARTTLS',
      { phase: 'mail', verb: 'MAIL', code: 530, text: 'Must issue a STARTTLS command first' },
      'starttls-first',
    ],
    [
      '550 5.1.1 at RCPT',
      { code: 550, enhancedCode: '5.1.1', text: 'mailbox unknown' },
      'unknown-mailbox',
    ],
    [
      '550 user unknown without enhanced code',
      { code: 550, text: 'No such user here' },
      'unknown-mailbox',
    ],
    [
      '451 4.7.1 at RCPT',
      { code: 451, enhancedCode: '4.7.1', text: 'Please try again later' },
      'greylisting',
    ],
    [
      '450 greylisted',
      { code: 450, enhancedCode: '4.2.0', text: 'Greylisted, see http://postgrey' },
      'greylisting',
    ],
    [
      '552 5.2.3 after the data',
      { phase: 'message', verb: '.', code: 552, enhancedCode: '5.2.3' },
      'message-too-large',
    ],
    [
      '552 5.3.4 at MAIL',
      {
        phase: 'mail',
        verb: 'MAIL',
        code: 552,
        enhancedCode: '5.3.4',
        text: 'Message size exceeds fixed limit',
      },
      'message-too-large',
    ],
    [
      '421 at the greeting',
      { phase: 'greeting', verb: 'GREETING', code: 421, text: 'too many connections' },
      'service-closing',
    ],
    [
      '554 at the greeting',
      { phase: 'greeting', verb: 'GREETING', code: 554, text: 'No SMTP service here' },
      'greeting-refused',
    ],
    [
      '550 relay denied',
      { code: 554, enhancedCode: '5.7.1', text: 'Relay access denied' },
      'relay-denied',
    ],
    [
      '501 at EHLO',
      { phase: 'ehlo', verb: 'EHLO', code: 501, text: 'Invalid domain name' },
      'ehlo-name-rejected',
    ],
    [
      'greeting timeout without TLS',
      { kind: 'timeout', phase: 'greeting', verb: 'GREETING', code: null, port: 465 },
      'greeting-timeout-implicit-tls',
    ],
    [
      'greeting timeout with TLS on 587',
      { kind: 'timeout', phase: 'greeting', verb: 'GREETING', code: null, implicitTls: true },
      'greeting-timeout-starttls-port',
    ],
    [
      'TLS to a plain port',
      {
        kind: 'tls',
        phase: 'tls',
        verb: 'TLS',
        code: null,
        implicitTls: true,
        text: 'SSL routines::wrong version number',
      },
      'tls-not-tls',
    ],
    [
      'TLS name mismatch',
      {
        kind: 'tls',
        phase: 'tls',
        verb: 'TLS',
        code: null,
        text: "Hostname/IP does not match certificate's altnames",
      },
      'tls-name-mismatch',
    ],
    [
      'refused connection',
      {
        kind: 'connect',
        phase: 'connect',
        verb: 'CONNECT',
        code: null,
        text: 'connect ECONNREFUSED 127.0.0.1:25',
      },
      'connection-refused',
    ],
    ['unknown 5xx', { phase: 'other', verb: 'VRFY', code: 599, text: 'odd' }, 'permanent-failure'],
  ];

  it.each(cases)('names %s', (_name, overrides, id) => {
    const result = diagnose(context(overrides));
    expect(result.id).toBe(id);
    expect(result.summary).toMatch(/\.$/);
    expect(result.nextSteps.length).toBeGreaterThan(0);
  });
});

describe('detectService', () => {
  it.each([
    ['smtp.gmail.com', 'Gmail'],
    ['220 smtp.gmail.com ESMTP x - gsmtp', 'Gmail'],
    ['smtp.office365.com', 'Outlook.com / Microsoft 365'],
    ['mail.example.org', null],
  ])('finds %j as %j', (text, expected) => {
    expect(detectService([text])).toBe(expected);
  });
});

describe('reply code tables', () => {
  it('describes listed and unlisted codes', () => {
    expect(describeReplyCode(535).meaning).toBe('Authentication credentials invalid');
    expect(describeReplyCode(599).meaning).toMatch(/^Permanent failure/);
    expect(describeEnhancedCode('5.7.8')?.meaning).toBe(
      'Permanent failure: Authentication credentials invalid',
    );
    expect(describeEnhancedCode('4.7.139')?.meaning).toBe(
      'Persistent transient failure: security or policy status (detail 139 not listed)',
    );
    expect(describeEnhancedCode('6.1.1')).toBeNull();
  });
});

describe('analyseConnection', () => {
  const T = '2026-12-04T15:03:12';
  const log = (lines: string[]) =>
    lines
      .map(
        (line, index) =>
          `${index + 1} ${T}.${String(100 + index * 10).padStart(3, '0')} 5 1 ${line}`,
      )
      .join('\n');
  const analyse = (lines: string[]) => {
    const [connection] = splitConnections(readTranscript(log(lines)).records);
    return analyseConnection(connection!);
  };

  it('pairs pipelined commands with their replies in order', () => {
    const report = analyse([
      'S < "220 mx"',
      'C > "MAIL FROM:<a@example.test>"',
      'C > "RCPT TO:<b@example.test>"',
      'C > "RCPT TO:<c@example.test>"',
      'C > "DATA"',
      'S < "250 2.1.0 ok"',
      'S < "550 5.1.1 unknown"',
      'S < "550 5.1.1 unknown"',
      'S < "554 5.5.1 no valid recipients"',
      'C > "QUIT"',
      'S < "221 bye"',
    ]);
    expect(report.outcome).toBe('failed');
    expect(report.failure?.step).toBe('RCPT');
    expect(report.failure?.lines).toEqual([3, 7]);
    expect(report.rejected.map((item) => item.recipient)).toEqual([
      'b@example.test',
      'c@example.test',
    ]);
  });

  it('reports a server that closed the connection mid-command', () => {
    const report = analyse(['S < "220 mx"', 'C > "EHLO x"', '### SMTP Connection closed']);
    expect(report.failure?.diagnosis.id).toBe('closed-by-server');
    expect(report.failure?.lines).toEqual([2, 3]);
  });

  it('measures the time each step took', () => {
    const [connection] = splitConnections(
      readTranscript(log(['S < "220 mx"', 'C > "NOOP"', 'S < "250 ok"'])).records,
    );
    expect(connection?.steps[1]?.durationMs).toBe(10);
  });

  it('warns when a clear session ended after EHLO without STARTTLS on offer', () => {
    const report = analyse([
      'S < "220 mx"',
      'C > "EHLO x"',
      'S < "250-mx"',
      'S < "250 AUTH PLAIN"',
      'C > "QUIT"',
      'S < "221 bye"',
    ]);
    expect(report.outcome).toBe('no-mail');
    expect(report.warnings.map((warning) => warning.diagnosis.id)).toEqual([
      'starttls-not-offered',
    ]);
  });
});
