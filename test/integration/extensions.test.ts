import { createTransporter, MemorySink, type SmtpError } from '@mailwire/node';
import { describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certs.js';
import { rejectionOf } from '../support/rejection.js';
import { smtpServerPerTest } from '../support/smtp-server.js';

const server = smtpServerPerTest();

const ca = testCertificates().caPem;

describe('pooled transporter', () => {
  it('sends many messages over few connections', async () => {
    const smtp = await server();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      pool: true,
      maxConnections: 2,
      maxMessages: 100,
    });
    const sends = Array.from({ length: 20 }, (_, index) =>
      transporter.send({ from: 'a@example.test', to: `r${index}@example.test`, text: `m${index}` }),
    );
    const results = await Promise.all(sends);
    await transporter.close();

    expect(results.every((result) => result.accepted.length === 1)).toBe(true);
    await smtp.waitForMessages(20, 5000);
    const connections = new Set(smtp.messages.map((message) => message.sessionId));
    expect(connections.size).toBeLessThanOrEqual(2);
  });

  it('replaces a connection after maxMessages', async () => {
    const smtp = await server();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      pool: true,
      maxConnections: 1,
      maxMessages: 3,
    });
    for (let index = 0; index < 7; index++) {
      await transporter.send({ from: 'a@example.test', to: 'r@example.test', text: `m${index}` });
    }
    await transporter.close();
    const connections = new Set(smtp.messages.map((message) => message.sessionId));
    expect(connections.size).toBe(3);
  });

  it('sends RSET between messages and recovers from a rejected one', async () => {
    const smtp = await server({
      rejectRecipients: (address) => (address.startsWith('gone') ? '550 5.1.1 unknown' : null),
    });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      pool: true,
      maxConnections: 1,
      transcriptSink: sink,
    });
    const first = await transporter.send({
      from: 'a@example.test',
      to: 'ok@example.test',
      text: '1',
    });
    const failed = await transporter
      .send({ from: 'a@example.test', to: 'gone@example.test', text: '2' })
      .catch((error: SmtpError) => error);
    const third = await transporter.send({
      from: 'a@example.test',
      to: 'ok@example.test',
      text: '3',
    });
    await transporter.close();

    expect(first.accepted).toEqual(['ok@example.test']);
    expect((failed as SmtpError).code).toBe('EENVELOPE');
    expect(third.accepted).toEqual(['ok@example.test']);
    expect(sink.text().match(/C > "RSET"/g)?.length).toBe(2);
    expect(new Set(smtp.messages.map((message) => message.sessionId)).size).toBe(1);
  });
});

describe('pipelining across messages', () => {
  it('writes the next envelope before the previous final reply arrives', async () => {
    const smtp = await server();
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      pool: true,
      maxConnections: 1,
      transcriptSink: sink,
    });
    const results = await Promise.all(
      [1, 2, 3].map((index) =>
        transporter.send({
          from: 'a@example.test',
          to: `r${index}@example.test`,
          text: `${index}`,
        }),
      ),
    );
    await transporter.close();

    expect(results.map((result) => result.accepted)).toEqual([
      ['r1@example.test'],
      ['r2@example.test'],
      ['r3@example.test'],
    ]);
    const lines = sink.entries.map((entry) => `${entry.direction} ${entry.text}`);
    const firstDataSent = lines.findIndex((line) => line.startsWith('event Message data sent'));
    const firstQueued = lines.findIndex((line) => /^server 250 .*queued/i.test(line));
    const secondMail = lines.findIndex(
      (line, index) => index > firstDataSent && line.startsWith('client MAIL FROM'),
    );
    expect(secondMail).toBeGreaterThan(firstDataSent);
    expect(secondMail).toBeLessThan(firstQueued);
    // A transaction whose data ended is over, so the next one needs no RSET.
    expect(lines).not.toContain('client RSET');
    expect(smtp.messages.map((message) => message.to)).toEqual([
      ['r1@example.test'],
      ['r2@example.test'],
      ['r3@example.test'],
    ]);
  });
});

describe('extensions against smtp-server', () => {
  it('sends DSN parameters when the server offers DSN', async () => {
    const smtp = await server({ extra: { hideDSN: false } });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      transcriptSink: sink,
    });
    await transporter.send({
      from: 'a@example.test',
      to: 'r@example.test',
      text: 'dsn',
      dsn: { notify: ['SUCCESS', 'FAILURE'], ret: 'HDRS', envid: 'id+1 x', orcpt: true },
    });
    const text = sink.text();
    expect(text).toContain('MAIL FROM:<a@example.test> RET=HDRS ENVID=id+2B1+20x');
    expect(text).toContain(
      'RCPT TO:<r@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;r@example.test',
    );
    const envelope = smtp.messages[0]?.envelope as unknown as {
      dsn: { ret: string; envid: string };
    };
    expect(envelope.dsn.ret).toBe('HDRS');
  });

  it('sends REQUIRETLS over TLS and refuses it in clear text', async () => {
    const secure = await server({ secure: true, extra: { hideREQUIRETLS: false } });
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: secure.port,
      secure: true,
      tls: { ca },
      transcriptSink: sink,
    });
    await transporter.send({
      from: 'a@example.test',
      to: 'r@example.test',
      text: 'x',
      requireTls: true,
    });
    expect(sink.text()).toMatch(/MAIL FROM:<a@example\.test>.* REQUIRETLS/);

    const clear = await server({ startTls: false, extra: { hideREQUIRETLS: false } });
    const error = await rejectionOf(
      createTransporter({ host: '127.0.0.1', port: clear.port }).send({
        from: 'a@example.test',
        to: 'r@example.test',
        text: 'x',
        requireTls: true,
      }),
    );
    expect(error.code).toBe('ETLS');
    expect(error.message).toContain('REQUIRETLS');
    expect(clear.messages).toHaveLength(0);
  });

  it('uses SMTPUTF8 for a non-ASCII address', async () => {
    const smtp = await server();
    const sink = new MemorySink();
    const transporter = createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      tls: { ca },
      transcriptSink: sink,
    });
    await transporter.send({
      envelope: { from: 'a@example.test', to: 'jörg@example.test' },
      raw: 'From: a@example.test\r\nTo: j@example.test\r\nSubject: utf8\r\n\r\nHallo\r\n',
    });
    expect(sink.text()).toMatch(/MAIL FROM:<a@example\.test>.* SMTPUTF8/);
    expect(smtp.messages[0]?.to).toEqual(['jörg@example.test']);
  });

  it('refuses a message over the SIZE limit before MAIL', async () => {
    const smtp = await server({ size: 1000 });
    const sink = new MemorySink();
    const error = await rejectionOf(
      createTransporter({
        host: '127.0.0.1',
        port: smtp.port,
        tls: { ca },
        transcriptSink: sink,
      }).send({ from: 'a@example.test', to: 'r@example.test', text: 'x'.repeat(5000) }),
    );
    expect(error.code).toBe('EMESSAGE');
    expect(error.message).toMatch(/\d+ octets, but the server accepts at most 1000 octets/);
    expect(sink.text()).not.toContain('MAIL FROM');
  });

  it('speaks LMTP with one reply per recipient', async () => {
    const smtp = await server({
      lmtp: true,
      startTls: false,
      rejectRecipients: (address) => (address.startsWith('gone') ? '550 5.1.1 unknown' : null),
    });
    const sink = new MemorySink();
    const result = await createTransporter({
      host: '127.0.0.1',
      port: smtp.port,
      lmtp: true,
      transcriptSink: sink,
    }).send({
      from: 'a@example.test',
      to: ['one@example.test', 'gone@example.test', 'two@example.test'],
      text: 'x',
    });

    expect(sink.text()).toContain('C > "LHLO');
    expect(result.accepted).toEqual(['one@example.test', 'two@example.test']);
    expect(result.rejected.map((entry) => entry.recipient)).toEqual(['gone@example.test']);
  });

  it('streams a raw message given as async chunks', async () => {
    const smtp = await server();
    async function* chunks() {
      yield 'From: a@example.test\r\nTo: r@example.test\r\nSubject: stream\r\n\r\n';
      for (let index = 0; index < 100; index++) yield `.line ${index}\n`;
    }
    await createTransporter({ host: '127.0.0.1', port: smtp.port, tls: { ca } }).send({
      envelope: { from: 'a@example.test', to: ['r@example.test'] },
      raw: chunks(),
    });
    const raw = smtp.messages[0]?.raw.toString() ?? '';
    expect(raw).toContain('\r\n.line 0\r\n');
    expect(raw).toContain('.line 99\r\n');
    expect(raw).not.toMatch(/[^\r]\n/);
  });
});

describe('input checks that name the problem', () => {
  it.each([
    [{ from: 'a@example.test', to: 'b@example.test', subjet: 'x' }, /Unknown message field subjet/],
    [
      { from: 'a@example.test', to: 'b@example.test', attachments: [] },
      /Unknown message field attachments: attachments are not composed/,
    ],
    [
      { envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw: 'x', text: 'y' },
      /Unknown message field text/,
    ],
  ])('rejects unknown message field %#', async (message, pattern) => {
    const transporter = createTransporter({ host: '127.0.0.1', port: 9 });
    const error = await rejectionOf(transporter.send(message as never));
    expect(error.code).toBe('EINPUT');
    expect(error.message).toMatch(pattern);
  });

  it("names startTls: 'never' when it keeps credentials off a clear connection", async () => {
    const smtp = await server();
    const error = await rejectionOf(
      createTransporter({
        host: '127.0.0.1',
        port: smtp.port,
        startTls: 'never',
        auth: { user: 'demo@example.test', pass: 'demo-Passw0rd' },
      }).send({ from: 'a@example.test', to: 'b@example.test', text: 'x' }),
    );
    expect(error.message).toContain("startTls is 'never'");
  });

  it('suggests secure: false when an implicit TLS client meets a plain port', async () => {
    const smtp = await server();
    const error = await rejectionOf(
      createTransporter({ host: '127.0.0.1', port: smtp.port, secure: true }).send({
        from: 'a@example.test',
        to: 'b@example.test',
        text: 'x',
      }),
    );
    expect(error.code).toBe('ETLS');
    expect(error.message).toContain('set secure: false');
    expect(error.message).not.toContain('\n');
  });
});

describe('streamed raw messages', () => {
  async function* stream(parts: string[]) {
    for (const part of parts) yield part;
  }

  it('closes the connection before a line over 998 octets is sent', async () => {
    const smtp = await server();
    const sink = new MemorySink();
    const error = await rejectionOf(
      createTransporter({
        host: '127.0.0.1',
        port: smtp.port,
        tls: { ca },
        transcriptSink: sink,
      }).send({
        envelope: { from: 'a@example.test', to: ['b@example.test'] },
        raw: stream([
          'Subject: long\r\n\r\nshort line\r\n',
          `${'y'.repeat(600)}`,
          `${'y'.repeat(600)}\r\n`,
        ]),
      }),
    );

    expect(error.code).toBe('EMESSAGE');
    expect(error.phase).toBe('message');
    expect(error.message).toContain('line 4 is 1200 octets long, over the 998-octet limit');
    expect(sink.text()).toContain('### Message rejected while sending');
    expect(sink.text()).toContain('### SMTP Connection closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smtp.messages).toHaveLength(0);
  });

  it('refuses 8-bit content when the server has no 8BITMIME', async () => {
    const smtp = await server({ startTls: false, extra: { hide8BITMIME: true } });
    const error = await rejectionOf(
      createTransporter({ host: '127.0.0.1', port: smtp.port }).send({
        envelope: { from: 'a@example.test', to: ['b@example.test'] },
        raw: stream(['Subject: x\r\n\r\n', 'Grüße\r\n']),
      }),
    );
    expect(error.code).toBe('EMESSAGE');
    expect(error.message).toContain('8BITMIME');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends a valid stream whose CR and LF arrive in separate chunks', async () => {
    const smtp = await server();
    await createTransporter({ host: '127.0.0.1', port: smtp.port, tls: { ca } }).send({
      envelope: { from: 'a@example.test', to: ['b@example.test'] },
      raw: stream(['Subject: x\r\n\r\n', `${'z'.repeat(998)}\r`, '\nend\r\n']),
    });
    expect(smtp.messages[0]?.raw.toString()).toContain(`${'z'.repeat(998)}\r\nend`);
  });
});
