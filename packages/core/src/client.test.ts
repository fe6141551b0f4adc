import { describe, expect, it } from 'vitest';
import { SmtpClient, type SmtpClientOptions } from './client.js';
import { SmtpProtocolError, SmtpUsageError } from './errors.js';
import type { SmtpEvent } from './events.js';
import { MASK } from './limits.js';
import {
  type ClientAction,
  type ClientState,
  COMMAND_TRANSITIONS,
  REPLY_TRANSITIONS,
} from './state.js';
import type { TranscriptEntry } from './transcript/entry.js';
import { TranscriptRecorder } from './transcript/recorder.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const ALL_STATES: readonly ClientState[] = [
  'greeting',
  'greeted',
  'refused',
  'ehlo-sent',
  'ready',
  'tls-requested',
  'tls-upgrade',
  'authenticating',
  'mail-sent',
  'rcpt-sent',
  'data-sent',
  'sending-body',
  'body-sent',
  'quitting',
  'closing',
  'closed',
  'failed',
];

const ALL_ACTIONS: readonly ClientAction[] = [
  'EHLO',
  'HELO',
  'LHLO',
  'STARTTLS',
  'AUTH',
  'AUTH-RESPONSE',
  'MAIL',
  'RCPT',
  'DATA',
  'BDAT',
  'BODY',
  'DATA-END',
  'RSET',
  'NOOP',
  'QUIT',
];

/** A protocol object with its transcript, and helpers to talk to it as the server. */
class Harness {
  readonly recorder = new TranscriptRecorder({ now: () => 0, processId: 1, connectionId: 1 });
  readonly client: SmtpClient;
  private readonly entries: TranscriptEntry[] = [];

  constructor(options: Partial<SmtpClientOptions> = {}) {
    this.client = new SmtpClient({ recorder: this.recorder, ...options });
  }

  /** Feed server text and return the events it produced. */
  receive(text: string): SmtpEvent[] {
    this.client.receive(encoder.encode(text));
    return this.events();
  }

  events(): SmtpEvent[] {
    const events: SmtpEvent[] = [];
    for (let event = this.client.nextEvent(); event !== null; event = this.client.nextEvent()) {
      events.push(event);
    }
    return events;
  }

  /** Everything the client wants to send, as text. */
  sent(): string {
    const bytes = this.client.takeOutgoing();
    return bytes === null ? '' : decoder.decode(bytes);
  }

  /** Transcript lines as `C: text`, `S: text` or `E: text`, all so far. */
  transcript(): string[] {
    this.entries.push(...this.recorder.take());
    const marks = { client: 'C', server: 'S', event: 'E' } as const;
    return this.entries.map((entry) => `${marks[entry.direction]}: ${entry.text}`);
  }

  transcriptEntries(): TranscriptEntry[] {
    this.entries.push(...this.recorder.take());
    return this.entries;
  }
}

const types = (events: readonly SmtpEvent[]): string[] => events.map((event) => event.type);

/** A harness whose client was driven into `state` along the usual path. */
function harnessIn(state: ClientState): Harness {
  const h = new Harness();
  const c = h.client;
  const steps: Record<ClientState, () => void> = {
    greeting: () => {},
    greeted: () => h.receive('220 mx ready\r\n'),
    refused: () => h.receive('554 no service\r\n'),
    'ehlo-sent': () => {
      steps.greeted();
      c.ehlo('client.example.test');
    },
    ready: () => {
      steps['ehlo-sent']();
      h.receive('250-mx\r\n250 PIPELINING\r\n');
    },
    'tls-requested': () => {
      steps.ready();
      c.startTls();
    },
    'tls-upgrade': () => {
      steps['tls-requested']();
      h.receive('220 go ahead\r\n');
    },
    authenticating: () => {
      steps.ready();
      c.auth('LOGIN');
    },
    'mail-sent': () => {
      steps.ready();
      c.mailFrom('sender@example.test');
    },
    'rcpt-sent': () => {
      steps['mail-sent']();
      c.rcptTo('rcpt@example.test');
    },
    'data-sent': () => {
      steps['rcpt-sent']();
      c.data();
    },
    'sending-body': () => {
      steps['data-sent']();
      h.receive('250 ok\r\n250 ok\r\n354 go\r\n');
    },
    'body-sent': () => {
      steps['sending-body']();
      c.endBody();
    },
    quitting: () => {
      steps.ready();
      c.quit();
    },
    closing: () => {
      steps.ready();
      h.receive('421 shutting down\r\n');
    },
    closed: () => {
      steps.ready();
      c.receiveEnd();
    },
    failed: () => {
      steps.ready();
      expect(() => h.receive('garbage\r\n')).toThrow(SmtpProtocolError);
    },
  };
  steps[state]();
  h.events();
  h.sent();
  expect(c.state).toBe(state);
  return h;
}

/** Call the client method for an action. */
function perform(client: SmtpClient, action: ClientAction): void {
  const chunk = encoder.encode('x');
  const calls: Record<ClientAction, () => void> = {
    EHLO: () => client.ehlo('client.example.test'),
    HELO: () => client.helo('client.example.test'),
    LHLO: () => client.lhlo('client.example.test'),
    STARTTLS: () => client.startTls(),
    AUTH: () => client.auth('PLAIN', 'AHVzZXIAcGFzcw=='),
    'AUTH-RESPONSE': () => client.authResponse('dXNlcg=='),
    MAIL: () => client.mailFrom('sender@example.test'),
    RCPT: () => client.rcptTo('rcpt@example.test'),
    DATA: () => client.data(),
    BDAT: () => client.bdat(chunk, false),
    BODY: () => client.sendBody(chunk),
    'DATA-END': () => client.endBody(),
    RSET: () => client.rset(),
    NOOP: () => client.noop(),
    QUIT: () => client.quit(),
  };
  calls[action]();
}

describe('state tables', () => {
  it('list every state in COMMAND_TRANSITIONS', () => {
    expect(Object.keys(COMMAND_TRANSITIONS).sort()).toEqual([...ALL_STATES].sort());
  });

  it('lead only to known states', () => {
    const commandTargets = Object.values(COMMAND_TRANSITIONS).flatMap((row) => Object.values(row));
    const replyTargets = Object.values(REPLY_TRANSITIONS).flatMap((rule) =>
      Object.values(rule.next),
    );

    for (const target of [...commandTargets, ...replyTargets]) {
      expect(ALL_STATES).toContain(target);
    }
  });

  it('allow no command in waiting or final states', () => {
    for (const state of ['failed', 'closed', 'closing', 'greeting', 'ehlo-sent'] as const) {
      expect(COMMAND_TRANSITIONS[state]).toEqual({});
    }
  });

  it('give every reply rule a fallback event', () => {
    for (const rule of Object.values(REPLY_TRANSITIONS)) {
      expect(typeof rule.events.other).toBe('string');
    }
  });
});

describe('SmtpClient commands by state', () => {
  const cases = ALL_STATES.flatMap((state) =>
    ALL_ACTIONS.map((action) => [state, action, COMMAND_TRANSITIONS[state][action]] as const),
  );

  it.each(cases.filter(([, , next]) => next !== undefined))(
    'allows %s → %s, moving to %s',
    (state, action, next) => {
      const h = harnessIn(state);

      expect(h.client.can(action)).toBe(true);
      perform(h.client, action);
      expect(h.client.state).toBe(next);
    },
  );

  it.each(cases.filter(([, , next]) => next === undefined))(
    'rejects %s → %s with a usage error naming the state',
    (state, action) => {
      const h = harnessIn(state);

      expect(h.client.can(action)).toBe(false);
      expect(() => perform(h.client, action)).toThrow(SmtpUsageError);
      expect(() => perform(h.client, action)).toThrow(
        state === 'failed' ? /^Cannot use a failed connection: / : `in state ${state}`,
      );
      expect(h.client.state).toBe(state);
      expect(h.sent()).toBe('');
    },
  );
});

describe('SmtpClient session', () => {
  it('runs a full STARTTLS and AUTH session', () => {
    const h = new Harness();
    const c = h.client;
    expect(c.state).toBe('greeting');
    expect(c.awaiting).toEqual([{ awaiting: 'greeting', line: '' }]);

    expect(types(h.receive('220 mx.example.test ESMTP\r\n'))).toEqual(['greeting']);
    expect(c.state).toBe('greeted');

    c.ehlo('client.example.test');
    expect(h.sent()).toBe('EHLO client.example.test\r\n');
    expect(c.state).toBe('ehlo-sent');
    const [capabilities] = h.receive('250-mx.example.test\r\n250-STARTTLS\r\n250 SIZE 1000\r\n');
    expect(capabilities?.type).toBe('capabilities');
    expect(c.state).toBe('ready');
    expect(c.capabilities?.maxSize).toBe(1000);

    c.startTls();
    expect(h.sent()).toBe('STARTTLS\r\n');
    expect(c.state).toBe('tls-requested');
    expect(types(h.receive('220 2.0.0 Ready to start TLS\r\n'))).toEqual(['tls-ready']);
    expect(c.state).toBe('tls-upgrade');

    c.tlsEstablished();
    expect(c.state).toBe('greeted');
    expect(c.secure).toBe(true);
    expect(c.capabilities).toBeNull();

    c.ehlo('client.example.test');
    expect(h.sent()).toBe('EHLO client.example.test\r\n');
    h.receive('250-mx.example.test\r\n250 AUTH PLAIN LOGIN\r\n');
    expect([...(c.capabilities?.authMechanisms ?? [])]).toEqual(['PLAIN', 'LOGIN']);

    c.auth('PLAIN', 'AHVzZXIAcGFzcw==');
    expect(h.sent()).toBe('AUTH PLAIN AHVzZXIAcGFzcw==\r\n');
    expect(c.state).toBe('authenticating');
    expect(types(h.receive('235 2.7.0 Authentication successful\r\n'))).toEqual(['authenticated']);
    expect(c.state).toBe('ready');

    c.mailFrom('sender@example.test', { SIZE: 12 });
    expect(h.sent()).toBe('MAIL FROM:<sender@example.test> SIZE=12\r\n');
    expect(c.state).toBe('mail-sent');
    expect(types(h.receive('250 2.1.0 Ok\r\n'))).toEqual(['sender-accepted']);
    expect(c.state).toBe('mail-sent');

    c.rcptTo('rcpt@example.test');
    expect(h.sent()).toBe('RCPT TO:<rcpt@example.test>\r\n');
    const [recipient] = h.receive('250 2.1.5 Ok\r\n');
    expect(recipient).toMatchObject({ type: 'recipient-accepted', recipient: 'rcpt@example.test' });
    expect(c.state).toBe('rcpt-sent');

    c.data();
    expect(h.sent()).toBe('DATA\r\n');
    expect(c.state).toBe('data-sent');
    expect(types(h.receive('354 End data with <CR><LF>.<CR><LF>\r\n'))).toEqual(['data-ready']);
    expect(c.state).toBe('sending-body');

    c.sendBody(encoder.encode('Subject: hi\r\n\r\n.hidden\nline'));
    expect(h.sent()).toBe('Subject: hi\r\n\r\n..hidden\r\nline');
    c.endBody();
    expect(h.sent()).toBe('\r\n.\r\n');
    expect(c.state).toBe('body-sent');
    expect(types(h.receive('250 2.0.0 Ok: queued as ABC\r\n'))).toEqual(['message-accepted']);
    expect(c.state).toBe('ready');

    c.quit();
    expect(h.sent()).toBe('QUIT\r\n');
    expect(c.state).toBe('quitting');
    expect(types(h.receive('221 2.0.0 Bye\r\n'))).toEqual(['reply']);
    expect(c.state).toBe('closed');
    c.receiveEnd();
    expect(h.events()).toEqual([]);

    expect(h.transcript()).toEqual([
      'S: 220 mx.example.test ESMTP',
      'C: EHLO client.example.test',
      'S: 250-mx.example.test',
      'S: 250-STARTTLS',
      'S: 250 SIZE 1000',
      'C: STARTTLS',
      'S: 220 2.0.0 Ready to start TLS',
      'C: EHLO client.example.test',
      'S: 250-mx.example.test',
      'S: 250 AUTH PLAIN LOGIN',
      `C: AUTH PLAIN ${MASK}`,
      'S: 235 2.7.0 Authentication successful',
      'C: MAIL FROM:<sender@example.test> SIZE=12',
      'S: 250 2.1.0 Ok',
      'C: RCPT TO:<rcpt@example.test>',
      'S: 250 2.1.5 Ok',
      'C: DATA',
      'S: 354 End data with <CR><LF>.<CR><LF>',
      'E: Message data sent: 34 bytes on the wire, 4 lines',
      'S: 250 2.0.0 Ok: queued as ABC',
      'C: QUIT',
      'S: 221 2.0.0 Bye',
    ]);
  });

  it('falls back to plain SMTP capabilities after HELO', () => {
    const h = harnessIn('greeted');
    h.client.helo('client.example.test');
    const [event] = h.receive('250 mx.example.test\r\n');

    expect(event?.type).toBe('capabilities');
    expect(h.client.capabilities?.esmtp).toBe(false);
  });

  it('stays greeted after a rejected EHLO', () => {
    const h = harnessIn('ehlo-sent');

    expect(types(h.receive('500 5.5.1 Command unrecognized\r\n'))).toEqual(['ehlo-rejected']);
    expect(h.client.state).toBe('greeted');
  });

  it('notes a server that ends lines with a bare LF once', () => {
    const h = new Harness();
    h.receive('220 mx\n');
    h.client.ehlo('x');
    h.receive('250 ok\n');

    const notes = h.transcript().filter((line) => line.includes('bare LF'));
    expect(notes).toEqual(['E: Server ends reply lines with a bare LF instead of CRLF; accepted']);
  });

  it('reports the server closing its side', () => {
    const h = harnessIn('mail-sent');
    h.client.receiveEnd();

    expect(h.client.state).toBe('closed');
    expect(h.events()).toEqual([{ type: 'closed' }]);
  });
});

describe('SmtpClient pipelining', () => {
  function pipelined(): Harness {
    const h = harnessIn('ready');
    h.client.mailFrom('sender@example.test');
    h.client.rcptTo('good@example.test');
    h.client.rcptTo('bad@example.test');
    h.client.data();
    return h;
  }

  it('sends the envelope and DATA in one write', () => {
    const h = pipelined();

    expect(h.sent()).toBe(
      'MAIL FROM:<sender@example.test>\r\nRCPT TO:<good@example.test>\r\n' +
        'RCPT TO:<bad@example.test>\r\nDATA\r\n',
    );
    expect(h.client.awaiting.map((command) => command.awaiting)).toEqual([
      'MAIL',
      'RCPT',
      'RCPT',
      'DATA',
    ]);
    expect(h.client.awaiting[2]).toEqual({
      awaiting: 'RCPT',
      line: 'RCPT TO:<bad@example.test>',
      recipient: 'bad@example.test',
    });
  });

  it('matches replies to commands in order', () => {
    const h = pipelined();
    const events = h.receive('250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n');

    expect(types(events)).toEqual([
      'sender-accepted',
      'recipient-accepted',
      'recipient-rejected',
      'data-ready',
    ]);
    expect(events[1]).toMatchObject({ recipient: 'good@example.test' });
    expect(events[2]).toMatchObject({ recipient: 'bad@example.test' });
    expect(events[2]?.type === 'recipient-rejected' && events[2].reply.enhancedCode).toBe('5.1.1');
    expect(h.client.state).toBe('sending-body');
  });

  it('keeps the state of the last command until its reply arrives', () => {
    const h = pipelined();

    for (const reply of ['550 sender rejected\r\n', '250 ok\r\n', '250 ok\r\n']) {
      h.receive(reply);
      expect(h.client.state).toBe('data-sent');
    }
    expect(types(h.receive('503 5.5.1 no valid recipients\r\n'))).toEqual(['data-rejected']);
    expect(h.client.state).toBe('ready');
  });

  it('matches replies split across reads', () => {
    const h = pipelined();
    const events = [
      ...h.receive('250 o'),
      ...h.receive('k\r\n250 ok\r\n25'),
      ...h.receive('0 ok\r\n354 go\r\n'),
    ];

    expect(types(events)).toEqual([
      'sender-accepted',
      'recipient-accepted',
      'recipient-accepted',
      'data-ready',
    ]);
  });

  it('matches one reply per recipient after the data for LMTP', () => {
    const h = harnessIn('sending-body');
    h.client.endBody(['a@example.test', 'b@example.test']);
    const events = h.receive('250 2.0.0 delivered\r\n452 4.2.2 mailbox full\r\n');

    expect(events).toMatchObject([
      { type: 'message-accepted', recipient: 'a@example.test' },
      { type: 'message-rejected', recipient: 'b@example.test' },
    ]);
    expect(h.client.state).toBe('ready');
  });
});

describe('SmtpClient 421', () => {
  it.each([
    ['greeting', 'greeting-rejected'],
    ['ehlo-sent', 'ehlo-rejected'],
    ['tls-requested', 'tls-rejected'],
    ['authenticating', 'auth-rejected'],
    ['mail-sent', 'sender-rejected'],
    ['rcpt-sent', 'sender-rejected'],
    ['data-sent', 'sender-rejected'],
    ['body-sent', 'message-rejected'],
    ['quitting', 'reply'],
    ['ready', 'reply'],
  ] as const)('moves %s to closing', (state, eventType) => {
    const h = harnessIn(state);
    const events = h.receive('421 4.3.2 Service shutting down\r\n');

    expect(types(events)).toEqual([eventType]);
    expect(h.client.state).toBe('closing');
    expect(h.client.awaiting).toEqual([]);
    expect(() => h.client.quit()).toThrow('Cannot send QUIT in state closing');
  });
});

describe('SmtpClient protocol errors', () => {
  it('stays failed after an unexpected reply', () => {
    const h = harnessIn('ready');

    expect(() => h.receive('250 unexpected\r\n')).toThrow(SmtpProtocolError);
    expect(h.client.state).toBe('failed');
    expect(h.client.failure?.message).toBe(
      'Unexpected reply: no command was waiting for "250 unexpected"',
    );
    expect(() => h.receive('250 again\r\n')).toThrow(/^Cannot use a failed connection: Unexpected/);
    expect(() => h.client.quit()).toThrow(SmtpUsageError);
    h.client.receiveEnd();
    expect(h.client.state).toBe('failed');
  });

  it('fails on one reply more than pipelined commands', () => {
    const h = harnessIn('ready');
    h.client.mailFrom('sender@example.test');
    h.client.rcptTo('rcpt@example.test');

    expect(() => h.receive('250 ok\r\n250 ok\r\n250 extra\r\n')).toThrow(/^Unexpected reply/);
    expect(h.client.state).toBe('failed');
  });

  it('fails on a malformed reply and keeps the reason', () => {
    const h = harnessIn('ehlo-sent');

    expect(() => h.receive('hello\r\n')).toThrow(SmtpProtocolError);
    expect(h.client.state).toBe('failed');
    expect(h.client.awaiting).toEqual([]);
    expect(h.client.failure).toBeInstanceOf(SmtpProtocolError);
  });

  it('moves to failed on abort', () => {
    const h = harnessIn('mail-sent');
    h.client.abort(new Error('write failed'));

    expect(h.client.state).toBe('failed');
    expect(() => h.client.rset()).toThrow('Cannot use a failed connection: write failed');
  });
});

describe('SmtpClient STARTTLS', () => {
  it('discards bytes after the 220 unparsed', () => {
    const h = harnessIn('tls-requested');
    const injected = '250-mx\r\n250 AUTH PLAIN\r\n';
    const events = h.receive(`220 2.0.0 Ready\r\n${injected}`);

    expect(types(events)).toEqual(['tls-ready']);
    expect(h.client.state).toBe('tls-upgrade');
    expect(h.transcript().slice(-2)).toEqual([
      'S: 220 2.0.0 Ready',
      `E: Discarded ${injected.length} bytes received after the STARTTLS reply`,
    ]);
  });

  it('discards input during the TLS upgrade', () => {
    const h = harnessIn('tls-upgrade');
    const events = h.receive('250 AUTH PLAIN\r\n');

    expect(events).toEqual([]);
    expect(h.client.state).toBe('tls-upgrade');
    expect(h.transcript().at(-1)).toBe('E: Discarded 16 bytes received before the TLS handshake');
  });

  it('forgets capabilities and requires EHLO after the handshake', () => {
    const h = harnessIn('tls-upgrade');
    h.client.tlsEstablished();

    expect(h.client.capabilities).toBeNull();
    expect(h.client.secure).toBe(true);
    expect(() => h.client.mailFrom('sender@example.test')).toThrow(
      'Cannot send MAIL in state greeted',
    );
    expect(() => h.client.auth('PLAIN', 'x')).toThrow('Cannot send AUTH in state greeted');
    h.client.ehlo('client.example.test');
    expect(h.sent()).toBe('EHLO client.example.test\r\n');
  });

  it('parses the first reply after the handshake normally', () => {
    const h = harnessIn('tls-upgrade');
    h.receive('250 injected\r\n');
    h.client.tlsEstablished();
    h.client.ehlo('client.example.test');

    expect(types(h.receive('250-mx\r\n250 AUTH PLAIN\r\n'))).toEqual(['capabilities']);
    expect([...(h.client.capabilities?.authMechanisms ?? [])]).toEqual(['PLAIN']);
  });

  it('rejects a handshake report in any other state', () => {
    const h = harnessIn('ready');

    expect(() => h.client.tlsEstablished()).toThrow(
      'Cannot report a finished TLS handshake in state ready',
    );
  });

  it('stays usable after a rejected STARTTLS', () => {
    const h = harnessIn('tls-requested');

    expect(types(h.receive('454 4.7.0 TLS not available\r\n'))).toEqual(['tls-rejected']);
    expect(h.client.state).toBe('ready');
  });
});

describe('SmtpClient AUTH masking', () => {
  it('masks the initial response', () => {
    const h = harnessIn('ready');
    h.client.auth('PLAIN', 'AGFsaWNlAGh1bnRlcjI=');

    expect(h.sent()).toBe('AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n');
    const entry = h.transcriptEntries().at(-1);
    expect(entry).toMatchObject({
      direction: 'client',
      text: `AUTH PLAIN ${MASK}`,
      redacted: true,
    });
    expect(h.client.awaiting.at(-1)?.line).toBe(`AUTH PLAIN ${MASK}`);
  });

  it('logs an empty initial response "=" as it is', () => {
    const h = harnessIn('ready');
    h.client.auth('EXTERNAL', '=');

    expect(h.transcript().at(-1)).toBe('C: AUTH EXTERNAL =');
  });

  it('masks every answer to a 334 challenge', () => {
    const h = harnessIn('ready');
    h.client.auth('LOGIN');
    expect(types(h.receive('334 VXNlcm5hbWU6\r\n'))).toEqual(['auth-challenge']);
    h.client.authResponse('YWxpY2U=');
    h.receive('334 UGFzc3dvcmQ6\r\n');
    h.client.authResponse('aHVudGVyMg==');
    expect(types(h.receive('235 2.7.0 Accepted\r\n'))).toEqual(['authenticated']);

    expect(h.sent()).toBe('AUTH LOGIN\r\nYWxpY2U=\r\naHVudGVyMg==\r\n');
    expect(h.transcript().slice(-6)).toEqual([
      'C: AUTH LOGIN',
      'S: 334 VXNlcm5hbWU6',
      `C: ${MASK}`,
      'S: 334 UGFzc3dvcmQ6',
      `C: ${MASK}`,
      'S: 235 2.7.0 Accepted',
    ]);
    expect(h.client.state).toBe('ready');
  });

  it('logs empty and cancel answers as sent', () => {
    const h = harnessIn('authenticating');
    h.client.authResponse('');
    h.receive('334 \r\n');
    h.client.authResponse('*');

    expect(h.sent()).toBe('\r\n*\r\n');
    const [empty, , cancel] = h.transcriptEntries().slice(-3);
    expect(empty).toMatchObject({ text: '', redacted: false });
    expect(cancel).toMatchObject({ text: '*', redacted: false });
  });

  it('rejects a line break in a response without echoing it', () => {
    const h = harnessIn('authenticating');

    expect(() => h.client.authResponse('c2VjcmV0\r\nQUIT')).toThrow(
      'Invalid command: line breaks are not allowed in AUTH-RESPONSE',
    );
    expect(h.sent()).toBe('');
  });

  it('returns to ready after a rejected AUTH', () => {
    const h = harnessIn('authenticating');

    expect(types(h.receive('535 5.7.8 Authentication credentials invalid\r\n'))).toEqual([
      'auth-rejected',
    ]);
    expect(h.client.state).toBe('ready');
  });
});

describe('SmtpClient commands', () => {
  it.each([
    [
      'sender',
      (client: SmtpClient) => client.mailFrom('a@b.test\r\nRCPT TO:<x@y.test>'),
      /^Invalid sender address /,
    ],
    [
      'recipient',
      (client: SmtpClient) => client.rcptTo('<x@y.test>'),
      /^Invalid recipient address /,
    ],
    [
      'parameter',
      (client: SmtpClient) => client.mailFrom('a@b.test', { RET: 'FULL\r\nX' }),
      /^Invalid MAIL FROM parameter RET=/,
    ],
    [
      'EHLO name',
      (client: SmtpClient) => client.ehlo('x\r\nMAIL FROM:<a@b.test>'),
      /line breaks are not allowed in EHLO/,
    ],
  ])('rejects an injected %s before sending anything', (_, call, message) => {
    const h = harnessIn(_ === 'recipient' ? 'mail-sent' : _ === 'EHLO name' ? 'greeted' : 'ready');
    const state = h.client.state;

    expect(() => call(h.client)).toThrow(message);
    expect(h.client.state).toBe(state);
    expect(h.sent()).toBe('');
  });

  it('accepts the null reverse path', () => {
    const h = harnessIn('ready');
    h.client.mailFrom('');

    expect(h.sent()).toBe('MAIL FROM:<>\r\n');
  });

  it('sends BDAT chunks without dot-stuffing', () => {
    const h = harnessIn('rcpt-sent');
    h.receive('250 ok\r\n250 ok\r\n');
    h.client.bdat(encoder.encode('.a\r\n'), false);
    h.client.bdat(encoder.encode('.\r\n'), true);

    expect(h.sent()).toBe('BDAT 4\r\n.a\r\nBDAT 3 LAST\r\n.\r\n');
    expect(h.client.awaiting.map((command) => command.awaiting)).toEqual(['BDAT', 'DATA-END']);
    expect(types(h.receive('250 2.0.0 chunk\r\n250 2.0.0 queued\r\n'))).toEqual([
      'chunk-accepted',
      'message-accepted',
    ]);
    expect(h.client.state).toBe('ready');
  });

  it('logs body lines when logBody is full', () => {
    const h = new Harness({ logBody: 'full' });
    h.receive('220 mx\r\n');
    h.client.ehlo('x');
    h.receive('250 mx\r\n');
    h.client.mailFrom('a@b.test');
    h.client.rcptTo('c@d.test');
    h.client.data();
    h.receive('250 ok\r\n250 ok\r\n354 go\r\n');
    h.client.sendBody(encoder.encode('Subject: hi\r\n\r\nbody'));
    h.client.endBody();

    expect(h.transcript().slice(-4)).toEqual([
      'C: Subject: hi',
      'C: ',
      'C: body',
      'E: Message data sent: 24 bytes on the wire, 3 lines',
    ]);
  });

  it('takes queued output once', () => {
    const h = harnessIn('ready');
    h.client.noop();
    h.client.rset();

    expect(h.sent()).toBe('NOOP\r\nRSET\r\n');
    expect(h.client.takeOutgoing()).toBeNull();
  });
});

describe('SmtpClient body line limit', () => {
  it('does not queue an over-long line', () => {
    const h = harnessIn('sending-body');
    const overlong = h.client.sendBody(encoder.encode('ok\r\nabcdef'), 5);

    expect(overlong).toEqual({ length: 6, line: 2 });
    expect(h.sent()).toBe('');
  });

  it('queues a chunk within the limit', () => {
    const h = harnessIn('sending-body');
    const overlong = h.client.sendBody(encoder.encode('ok\r\nabcde'), 5);

    expect(overlong).toBeNull();
    expect(h.sent()).toBe('ok\r\nabcde');
  });
});

describe('SmtpClient reused body buffer', () => {
  it('sends each message whole when chunks are taken in turn', () => {
    const h = new Harness({ reuseBodyBuffer: true });
    const c = h.client;
    h.receive('220 mx ready\r\n');
    c.ehlo('client.example.test');
    h.receive('250 mx\r\n');
    h.sent();
    for (const name of ['first', 'second']) {
      c.mailFrom('a@example.test');
      c.rcptTo('b@example.test');
      c.data();
      h.sent();
      h.receive('250 ok\r\n250 ok\r\n354 go\r\n');
      c.sendBody(encoder.encode(`.${name}\r\n`));
      expect(h.sent()).toBe(`..${name}\r\n`);
      c.sendBody(encoder.encode('.end'));
      c.endBody();
      expect(h.sent()).toBe('..end\r\n.\r\n');
      h.receive('250 queued\r\n');
    }
  });
});
