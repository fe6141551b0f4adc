import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../support/certs.js';
import {
  matchesGlob,
  type ScriptedServer,
  type ScriptStep,
  startScriptedServer,
} from './scripted-server.js';

/** A raw client that collects every byte the server sends. */
class RawClient {
  private received = Buffer.alloc(0);

  constructor(public stream: Duplex) {
    this.listen(stream);
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  get bytes(): Buffer {
    return this.received;
  }

  write(text: string | Buffer): Promise<void> {
    return new Promise((resolve) => this.stream.write(text, () => resolve()));
  }

  /** Wait until the received bytes contain `text`; fails after two seconds. */
  async waitFor(text: string): Promise<void> {
    const deadline = Date.now() + 2000;
    while (!this.text.includes(text)) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${JSON.stringify(text)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Run a client-side TLS handshake over the same socket. */
  async startTls(caPem: string): Promise<void> {
    // The test server certificate names localhost, the default server name to verify.
    const secure = tls.connect({ socket: this.stream as net.Socket, ca: caPem });
    await new Promise((resolve, reject) =>
      secure.once('secureConnect', resolve).once('error', reject),
    );
    this.stream.removeAllListeners('data');
    this.received = Buffer.alloc(0);
    this.stream = secure;
    this.listen(secure);
  }

  close(): void {
    this.stream.end();
  }

  private listen(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    stream.on('error', () => {});
  }
}

const servers: ScriptedServer[] = [];

async function start(script: ScriptStep[], deadlineMs = 3000): Promise<ScriptedServer> {
  const server = await startScriptedServer(script, { deadlineMs });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

const greetingAndQuit: ScriptStep[] = [
  { send: '220 mx.example.test ESMTP ready' },
  { expect: 'EHLO *' },
  { send: '250-mx.example.test\r\n250 8BITMIME' },
  { expect: 'QUIT' },
  { send: '221 2.0.0 Bye' },
  { close: true },
];

describe('matchesGlob', () => {
  it.each([
    ['EHLO [127.0.0.1]', 'EHLO *', true],
    ['ehlo client', 'EHLO *', true],
    ['HELO client', 'EHLO *', false],
    ['MAIL FROM:<a@example.test> SIZE=10', 'MAIL FROM:<a@example.test>', false],
    ['MAIL FROM:<a@example.test> SIZE=10', 'MAIL FROM:<a@example.test>*', true],
    ['', '', true],
    ['NOOP', '', false],
    ['anything at all', '*', true],
    ['a.b', 'a?b', false],
    ['(x)+[y]', '(x)+[y]', true],
  ])('matches %j against %j: %s', (line, pattern, expected) => {
    expect(matchesGlob(line, pattern)).toBe(expected);
  });
});

describe('startScriptedServer', () => {
  it('plays a normal exchange', async () => {
    const server = await start(greetingAndQuit);
    const client = await RawClient.connect(server.port);

    await client.waitFor('220 mx.example.test ESMTP ready\r\n');
    await client.write('EHLO client.example.test\r\n');
    await client.waitFor('250 8BITMIME\r\n');
    await client.write('QUIT\r\n');
    await client.waitFor('221 2.0.0 Bye\r\n');
    const record = await server.result();

    expect(client.text).toBe(
      '220 mx.example.test ESMTP ready\r\n250-mx.example.test\r\n250 8BITMIME\r\n221 2.0.0 Bye\r\n',
    );
    expect(record.connected).toBe(true);
    expect(record.mismatch).toBeNull();
    expect(record.stepsPlayed).toBe(greetingAndQuit.length);
    expect(record.lines).toEqual(['EHLO client.example.test', 'QUIT']);
    expect(record.trailingLines).toEqual([]);
    expect(record.forbiddenTrailingInput).toEqual([]);
    expect(record.clientClosed).toBe(true);
    expect(record.timedOut).toBe(false);
  });

  it('records an expect mismatch', async () => {
    const server = await start(greetingAndQuit);
    const client = await RawClient.connect(server.port);

    await client.waitFor('ready\r\n');
    await client.write('HELO client.example.test\r\n');
    const record = await server.result();

    expect(record.mismatch).toEqual({
      step: 1,
      expected: 'EHLO *',
      actual: 'HELO client.example.test',
      reason: 'line does not match the pattern',
    });
    expect(record.stepsPlayed).toBe(1);
  });

  it('reports a client closing early', async () => {
    const server = await start(greetingAndQuit);
    const client = await RawClient.connect(server.port);

    await client.waitFor('ready\r\n');
    client.close();
    const record = await server.result();

    expect(record.mismatch?.step).toBe(1);
    expect(record.mismatch?.actual).toBeNull();
    expect(record.mismatch?.reason).toBe('connection closed by the client');
  });

  it('writes exact steps byte for byte', async () => {
    const server = await start([
      { send: '220 dev ESMTP\n', exact: true },
      { send: '250-a\r\n250 b' },
      { send: '25', exact: true },
      { send: '0 split' },
      { close: true },
    ]);
    const client = await RawClient.connect(server.port);

    await client.waitFor('250 split\r\n');
    await server.result();

    expect(client.text).toBe('220 dev ESMTP\n250-a\r\n250 b\r\n250 split\r\n');
  });

  it('joins a line split across reads', async () => {
    const server = await start(greetingAndQuit);
    const client = await RawClient.connect(server.port);

    await client.waitFor('ready\r\n');
    for (const part of ['EH', 'LO cli', 'ent\r', '\nQU', 'IT\r\n']) {
      await client.write(part);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.lines).toEqual(['EHLO client', 'QUIT']);
  });

  it('records bare LF line ends', async () => {
    const server = await start(greetingAndQuit);
    const client = await RawClient.connect(server.port);

    await client.waitFor('ready\r\n');
    await client.write('EHLO client\n');
    await client.waitFor('250 8BITMIME\r\n');
    await client.write('QUIT\r\n');
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.bareLfLines).toEqual(['EHLO client']);
  });

  it('captures raw DATA bytes', async () => {
    const server = await start([
      { send: '354 go ahead' },
      { expectData: true },
      { send: '250 queued' },
      { expect: 'QUIT' },
    ]);
    const client = await RawClient.connect(server.port);
    const body = 'Subject: x\r\n\r\n..hidden\r\nbare\nlf\r\nend\r\n.\r\n';

    await client.waitFor('354 go ahead\r\n');
    await client.write(body.slice(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await client.write(body.slice(20, -2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await client.write(`${body.slice(-2)}QUIT\r\n`);
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.dataBodies).toHaveLength(1);
    expect(record.dataBodies[0]?.toString('latin1')).toBe(body);
    expect(record.lines).toEqual(['QUIT']);
  });

  it('captures an empty DATA body', async () => {
    const server = await start([{ send: '354 go ahead' }, { expectData: true }]);
    const client = await RawClient.connect(server.port);

    await client.waitFor('354');
    await client.write('.\r\n');
    const record = await server.result();

    expect(record.dataBodies.map((body) => body.toString('latin1'))).toEqual(['.\r\n']);
  });

  it('keeps an unterminated DATA body', async () => {
    const server = await start([{ send: '354 go ahead' }, { expectData: true }]);
    const client = await RawClient.connect(server.port);

    await client.waitFor('354');
    await client.write('line one\r\n.');
    client.close();
    const record = await server.result();

    expect(record.mismatch?.reason).toBe('connection closed before the DATA body ended');
    expect(record.incompleteData?.toString('latin1')).toBe('line one\r\n.');
  });

  it('reads AUTH PLAIN with an initial response', async () => {
    const server = await start([{ expectAuth: 'PLAIN' }, { send: '235 ok' }]);
    const client = await RawClient.connect(server.port);

    await client.write('AUTH PLAIN AHVzZXIAcGFzcw==\r\n');
    await client.waitFor('235 ok\r\n');
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.authResponses).toEqual(['AHVzZXIAcGFzcw==']);
    expect(client.text).toBe('235 ok\r\n');
  });

  it('requests AUTH PLAIN credentials with 334', async () => {
    const server = await start([{ expectAuth: 'PLAIN' }, { send: '235 ok' }]);
    const client = await RawClient.connect(server.port);

    await client.write('auth plain\r\n');
    await client.waitFor('334 \r\n');
    await client.write('AHVzZXIAcGFzcw==\r\n');
    await client.waitFor('235 ok\r\n');
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.authResponses).toEqual(['AHVzZXIAcGFzcw==']);
  });

  it('rejects another AUTH mechanism', async () => {
    const server = await start([{ expectAuth: 'PLAIN' }, { send: '235 ok' }]);
    const client = await RawClient.connect(server.port);

    await client.write('AUTH LOGIN\r\n');
    const record = await server.result();

    expect(record.mismatch?.actual).toBe('AUTH LOGIN');
    expect(record.authResponses).toEqual([]);
  });

  it('replies to trailing RSET, NOOP and QUIT', async () => {
    const server = await start([{ send: '220 ready' }]);
    const client = await RawClient.connect(server.port);

    await client.waitFor('220 ready\r\n');
    await client.write('RSET\r\nNOOP\r\n');
    await client.waitFor('250 2.0.0 OK\r\n250 2.0.0 OK\r\n');
    await client.write('QUIT\r\n');
    await client.waitFor('221 2.0.0 Bye\r\n');
    const record = await server.result();

    expect(record.trailingLines).toEqual(['RSET', 'NOOP', 'QUIT']);
    expect(record.forbiddenTrailingInput).toEqual([]);
  });

  it('flags other trailing input', async () => {
    const server = await start([{ send: '554 no recipients' }]);
    const client = await RawClient.connect(server.port);

    await client.waitFor('554');
    await client.write('Subject: body bytes\r\nQUIT\r\ntail');
    await client.waitFor('221');
    const record = await server.result();

    expect(record.trailingLines).toEqual(['Subject: body bytes', 'QUIT']);
    expect(record.forbiddenTrailingInput).toEqual([
      'Subject: body bytes',
      '4 bytes without a line end',
    ]);
  });

  it('hands early bytes to TLS', async () => {
    const { caPem } = testCertificates();
    const server = await start([
      { expect: 'STARTTLS' },
      { send: '220 2.0.0 Ready to start TLS' },
      // The delay lets the ClientHello reach the plain-text reader before the upgrade.
      { delayMs: 100 },
      { startTls: true },
      { expect: 'EHLO *' },
      { send: '250 secure' },
      { close: true },
    ]);
    const client = await RawClient.connect(server.port);

    await client.write('STARTTLS\r\n');
    await client.waitFor('220 2.0.0 Ready to start TLS\r\n');
    await client.startTls(caPem);
    await client.write('EHLO client\r\n');
    await client.waitFor('250 secure\r\n');
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.lines).toEqual(['STARTTLS', 'EHLO client']);
    expect(record.socketErrors).toEqual([]);
  });

  it('speaks TLS from the first byte', async () => {
    const { caPem } = testCertificates();
    const server = await startScriptedServer([{ send: '220 secure' }, { expect: 'QUIT' }], {
      implicitTls: true,
      deadlineMs: 3000,
    });
    servers.push(server);
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, ca: caPem });
    await new Promise((resolve, reject) =>
      socket.once('secureConnect', resolve).once('error', reject),
    );
    const client = new RawClient(socket);

    await client.waitFor('220 secure\r\n');
    await client.write('QUIT\r\n');
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.lines).toEqual(['QUIT']);
  });

  it('ignores unread TLS records', async () => {
    const { caPem } = testCertificates();
    const server = await start([
      { expect: 'STARTTLS' },
      { send: '220 Go ahead' },
      { delayMs: 100 },
      { send: '500 5.5.2 Unrecognised input' },
    ]);
    const client = await RawClient.connect(server.port);

    await client.write('STARTTLS\r\n');
    await client.waitFor('220 Go ahead\r\n');
    await expect(client.startTls(caPem)).rejects.toThrow();
    const record = await server.result();

    expect(record.mismatch).toBeNull();
    expect(record.ignoredTlsRecords).toBeGreaterThanOrEqual(1);
    expect(record.forbiddenTrailingInput).toEqual([]);
  });

  it('counts and closes extra connections', async () => {
    const server = await start([{ expect: 'QUIT' }]);
    const first = await RawClient.connect(server.port);
    const second = await RawClient.connect(server.port);

    await new Promise((resolve) => second.stream.once('close', resolve));
    await first.write('QUIT\r\n');
    const record = await server.result();

    expect(record.extraConnections).toBe(1);
    expect(record.mismatch).toBeNull();
  });

  it('ends at the deadline', async () => {
    const server = await start(greetingAndQuit, 300);
    const client = await RawClient.connect(server.port);

    const record = await server.result();
    client.close();

    expect(record.timedOut).toBe(true);
    expect(record.clientClosed).toBe(false);
    expect(record.mismatch).toEqual({
      step: 1,
      expected: 'EHLO *',
      actual: null,
      reason: 'deadline passed',
    });
  });

  it('reports a stop before connecting', async () => {
    const server = await start(greetingAndQuit);

    const record = await server.stop();

    expect(record.connected).toBe(false);
    expect(record.mismatch?.reason).toBe('stopped by the test');
  });

  it('ends a delay when the client closes', async () => {
    const server = await start([{ delayMs: 20_000 }, { close: true }]);
    const client = await RawClient.connect(server.port);
    const started = Date.now();

    client.close();
    const record = await server.result();

    expect(Date.now() - started).toBeLessThan(2000);
    expect(record.mismatch).toBeNull();
    expect(record.timedOut).toBe(false);
  });
});
