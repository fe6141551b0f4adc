import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { createTransporter, MemorySink, type TranscriptEntry } from '@mailwire/node';
import { afterEach, describe, expect, it } from 'vitest';

const USER = 'sasl-user@example.test';
const PASSWORD = 'Tr0ub4dor&3-correct-horse';
const TOKEN = 'ya29.a0-test-access-token-7f3c';
const SCRAM_ITERATIONS = 4096;
const OAUTH_ERROR_JSON = '{"status":"invalid_token","scope":"https://mail.example.test/"}';

// ---- scripted SMTP server on 127.0.0.1 ----------------------------------------------------

interface ServerOptions {
  mechanisms: string[];
  /** Where the SCRAM server-final-message goes: a 334 challenge or the 235 reply. */
  scramFinal?: '334' | '235';
  /** Send a SCRAM server signature with one byte changed. */
  tamperSignature?: boolean;
}

interface ScriptedServer {
  port: number;
  /** Every line the server received, in order. */
  received: string[];
  /** Client lines received while AUTH was in progress, the AUTH command included. */
  authLines: string[];
}

type LineHandler = (line: string) => void;

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

const toBase64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const fromBase64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8');

async function startServer(options: ServerOptions): Promise<ScriptedServer> {
  const received: string[] = [];
  const authLines: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    const session = new ServerSession(socket, options, received, authLines);
    socket.write('220 mx.example.test ESMTP scripted\r\n');
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        session.handle(line);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received, authLines };
}

/** Server side of one connection: plain SMTP plus the SASL mechanisms under test. */
class ServerSession {
  private continuation: LineHandler | null = null;
  private inData = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: ServerOptions,
    private readonly received: string[],
    private readonly authLines: string[],
  ) {}

  handle(line: string): void {
    if (this.inData) {
      if (line === '.') {
        this.inData = false;
        this.reply('250 2.0.0 Ok: queued as SCRIPTED1');
      }
      return;
    }
    this.received.push(line);
    if (this.continuation) {
      this.authLines.push(line);
      const next = this.continuation;
      this.continuation = null;
      next(line);
      return;
    }

    const [verb = '', ...rest] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO':
        this.reply(
          `250-mx.example.test\r\n250-AUTH ${this.options.mechanisms.join(' ')}\r\n250 8BITMIME`,
        );
        break;
      case 'AUTH':
        this.authLines.push(line);
        this.authenticate(rest[0]?.toUpperCase() ?? '', rest[1]);
        break;
      case 'MAIL':
      case 'RCPT':
        this.reply('250 2.1.0 Ok');
        break;
      case 'DATA':
        this.inData = true;
        this.reply('354 End data with <CR><LF>.<CR><LF>');
        break;
      case 'QUIT':
        this.reply('221 2.0.0 Bye');
        this.socket.end();
        break;
      default:
        this.reply('502 5.5.2 Command not recognized');
    }
  }

  private reply(text: string): void {
    this.socket.write(`${text}\r\n`);
  }

  private challenge(text: string, next: LineHandler): void {
    this.continuation = next;
    this.reply(`334 ${toBase64(text)}`);
  }

  private authenticate(mechanism: string, initial: string | undefined): void {
    if (mechanism === 'SCRAM-SHA-256') this.scram(initial ?? '');
    else if (mechanism === 'CRAM-MD5') this.cramMd5();
    else if (mechanism === 'OAUTHBEARER') this.oauthBearer(initial ?? '');
    else this.reply('504 5.5.4 Mechanism not supported here');
  }

  /** RFC 5802 server side, computed with node:crypto. */
  private scram(initial: string): void {
    const clientFirst = fromBase64(initial);
    const bare = clientFirst.slice(3);
    const match = /^n=([^,]*),r=([^,]+)$/.exec(bare);
    if (!clientFirst.startsWith('n,,') || !match || match[1] !== USER) {
      this.reply('535 5.7.8 Bad client-first-message');
      return;
    }

    const salt = randomBytes(16);
    const nonce = `${match[2]}${randomBytes(12).toString('base64')}`;
    const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${SCRAM_ITERATIONS}`;
    this.challenge(serverFirst, (line) => {
      const clientFinal = fromBase64(line);
      const proofAt = clientFinal.lastIndexOf(',p=');
      const withoutProof = clientFinal.slice(0, proofAt);
      const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');

      const salted = pbkdf2Sync(PASSWORD, salt, SCRAM_ITERATIONS, 32, 'sha256');
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
      const recoveredKey = Buffer.from(proof.map((byte, index) => byte ^ clientSignature[index]!));
      const proofValid =
        withoutProof === `c=biws,r=${nonce}` &&
        createHash('sha256').update(recoveredKey).digest().equals(storedKey);
      if (!proofValid) {
        this.reply('535 5.7.8 Authentication credentials invalid');
        return;
      }

      const serverKey = createHmac('sha256', salted).update('Server Key').digest();
      const signature = createHmac('sha256', serverKey).update(authMessage).digest();
      if (this.options.tamperSignature) signature[0] = signature[0]! ^ 0x01;
      const serverFinal = `v=${signature.toString('base64')}`;
      if (this.options.scramFinal === '235') {
        this.reply(`235 2.7.0 ${toBase64(serverFinal)}`);
        return;
      }
      this.challenge(serverFinal, (empty) => {
        this.reply(empty === '' ? '235 2.7.0 Authentication successful' : '501 5.5.2 Bad reply');
      });
    });
  }

  /** RFC 2195 server side, computed with node:crypto. */
  private cramMd5(): void {
    const challenge = `<${randomBytes(4).readUInt32BE()}.${Date.now()}@mx.example.test>`;
    this.challenge(challenge, (line) => {
      const expected = createHmac('md5', PASSWORD).update(challenge).digest('hex');
      const valid = fromBase64(line) === `${USER} ${expected}`;
      this.reply(valid ? '235 2.7.0 Authentication successful' : '535 5.7.8 Bad digest');
    });
  }

  /** RFC 7628 server side: accept the known token, otherwise send the error JSON. */
  private oauthBearer(initial: string): void {
    if (fromBase64(initial) === `n,a=${USER},\x01auth=Bearer ${TOKEN}\x01\x01`) {
      this.reply('235 2.7.0 Authentication successful');
      return;
    }
    this.challenge(OAUTH_ERROR_JSON, (line) => {
      const acknowledged = line === 'AQ==';
      this.reply(acknowledged ? '535 5.7.8 Invalid token' : '501 5.5.2 Expected %x01');
    });
  }
}

// ---- end-to-end through the Node adapter ---------------------------------------------------

interface Credentials {
  pass?: string;
  accessToken?: string;
  method?: string;
}

async function sendThrough(port: number, credentials: Credentials) {
  const sink = new MemorySink();
  const transporter = createTransporter({
    host: '127.0.0.1',
    port,
    startTls: 'never',
    allowInsecureAuth: true,
    greetingTimeout: 5000,
    commandTimeout: 5000,
    auth: { user: USER, ...credentials },
    transcriptSink: sink,
  });
  const message = {
    envelope: { from: 'sender@example.test', to: ['rcpt@example.test'] },
    raw: 'Subject: SASL test\r\n\r\nHello\r\n',
  };
  try {
    const result = await transporter.send(message);
    return { result, error: undefined, sink };
  } catch (error) {
    return { result: undefined, error: error as Error & { code?: string }, sink };
  } finally {
    await transporter.close();
  }
}

/** Every form of a secret the transcript must not contain. */
function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  return [secret, bytes.toString('base64'), hex, hex.toUpperCase()];
}

function expectNoSecrets(text: string, secrets: string[]): void {
  for (const form of secrets.flatMap(secretForms)) expect(text).not.toContain(form);
}

/** Client lines from AUTH up to the first line that is not part of the exchange. */
function clientAuthEntries(entries: readonly TranscriptEntry[]): string[] {
  const client = entries.filter((entry) => entry.direction === 'client').map((entry) => entry.text);
  const start = client.findIndex((text) => text.startsWith('AUTH '));
  const end = client.findIndex((text, index) => index > start && /^(MAIL|QUIT)\b/.test(text));
  return client.slice(start, end === -1 ? undefined : end);
}

/** Check that each AUTH payload the server received appears in the transcript only masked. */
function expectMaskedExchange(sink: MemorySink, server: ScriptedServer, mechanism: string): void {
  const logged = clientAuthEntries(sink.entries);
  const [command, ...responses] = logged;
  const initialSent = (server.authLines[0] ?? '').split(' ').length > 2;

  expect(command).toBe(initialSent ? `AUTH ${mechanism} ********` : `AUTH ${mechanism}`);
  expect(responses.length).toBe(server.authLines.length - 1);
  for (const [index, response] of responses.entries()) {
    const sent = server.authLines[index + 1] ?? '';
    expect(response).toBe(sent === '' ? '' : '********');
  }

  const transcript = sink.text();
  for (const payload of server.authLines.map((line) => line.split(' ').at(-1) ?? '')) {
    if (payload.length > 8) expect(transcript).not.toContain(payload);
  }
}

describe('SCRAM-SHA-256 over TCP', () => {
  it.each(['334', '235'] as const)('authenticates with v= in a %s reply', async (scramFinal) => {
    const server = await startServer({
      mechanisms: ['LOGIN', 'PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'],
      scramFinal,
    });

    const { result, error, sink } = await sendThrough(server.port, { pass: PASSWORD });

    expect(error).toBeUndefined();
    expect(result?.accepted).toEqual(['rcpt@example.test']);
    expect(server.authLines[0]).toMatch(/^AUTH SCRAM-SHA-256 \S+$/);
    if (scramFinal === '334') expect(server.authLines.at(-1)).toBe('');
    expectMaskedExchange(sink, server, 'SCRAM-SHA-256');
    expectNoSecrets(sink.text(), [PASSWORD]);
  });

  it.each(['334', '235'] as const)('rejects a tampered v= in a %s reply', async (scramFinal) => {
    const server = await startServer({
      mechanisms: ['SCRAM-SHA-256'],
      scramFinal,
      tamperSignature: true,
    });

    const { error, sink } = await sendThrough(server.port, { pass: PASSWORD });

    expect(error?.name).toBe('SmtpProtocolError');
    expect(error?.message).toMatch(/could not prove it knows the password/);
    expect(server.received.some((line) => line.startsWith('MAIL'))).toBe(false);
    expectNoSecrets(`${sink.text()}\n${error?.message}`, [PASSWORD]);
  });
});

describe('CRAM-MD5 over TCP', () => {
  it('authenticates against an HMAC-MD5 server', async () => {
    const server = await startServer({ mechanisms: ['LOGIN', 'PLAIN', 'CRAM-MD5'] });

    const { result, error, sink } = await sendThrough(server.port, { pass: PASSWORD });

    expect(error).toBeUndefined();
    expect(result?.accepted).toEqual(['rcpt@example.test']);
    expect(server.authLines[0]).toBe('AUTH CRAM-MD5');
    expectMaskedExchange(sink, server, 'CRAM-MD5');
    expectNoSecrets(sink.text(), [PASSWORD]);
  });
});

describe('OAUTHBEARER over TCP', () => {
  it('authenticates with a valid token', async () => {
    const server = await startServer({ mechanisms: ['OAUTHBEARER', 'PLAIN'] });

    const { result, error, sink } = await sendThrough(server.port, { accessToken: TOKEN });

    expect(error).toBeUndefined();
    expect(result?.accepted).toEqual(['rcpt@example.test']);
    expect(server.authLines[0]).toMatch(/^AUTH OAUTHBEARER \S+$/);
    expectMaskedExchange(sink, server, 'OAUTHBEARER');
    expectNoSecrets(sink.text(), [TOKEN]);
  });

  it('reports the error JSON after answering with %x01', async () => {
    const server = await startServer({ mechanisms: ['OAUTHBEARER', 'XOAUTH2'] });
    const rejectedToken = 'ya29.a0-expired-token-0000';

    const { error, sink } = await sendThrough(server.port, {
      accessToken: rejectedToken,
      method: 'OAUTHBEARER',
    });

    expect(error?.name).toBe('SmtpReplyError');
    expect(error?.code).toBe('EAUTH');
    expect(error?.message).toContain(OAUTH_ERROR_JSON);
    expect(server.authLines.at(-1)).toBe('AQ==');
    expectMaskedExchange(sink, server, 'OAUTHBEARER');
    expectNoSecrets(`${sink.text()}\n${error?.message}`, [rejectedToken]);
  });
});
