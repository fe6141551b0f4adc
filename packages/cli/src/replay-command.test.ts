import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, runCli, spawnCli, waitForOutput } from './cli.test-helpers.js';

const SECRET = 'Replay-Secret-4821';

/** Start `mailwire replay` and wait for its address (and CA file when the recording used TLS). */
async function startReplay(fixture: string, extra: string[] = []) {
  const child = spawnCli(['replay', join(FIXTURES, fixture), '--idle-timeout', '10000', ...extra]);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'close') as Promise<[number | null]>;
  const [, port] = await waitForOutput(child.stdout, /127\.0\.0\.1:(\d+)/);
  return {
    child,
    port: port!,
    exited,
    stderr: () => stderr,
    caFile: () => findCaFile(() => stderr),
  };
}

/** Path of the generated CA file from the replay's stderr; it is printed before the address. */
async function findCaFile(stderr: () => string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const match = /--ca (\S+)/.exec(stderr());
    if (match) return match[1]!;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`No CA file path on the replay's stderr: ${stderr()}`);
}

describe('mailwire replay', () => {
  it('reproduces a recorded 535 at AUTH over STARTTLS', async () => {
    const replay = await startReplay('gmail-535-bad-credentials.log');
    const caFile = await replay.caFile();

    const send = await runCli(
      [
        'send',
        '--host',
        '127.0.0.1',
        '--port',
        replay.port,
        '--ca',
        caFile,
        '--starttls',
        'required',
        '--user',
        'someone@gmail.com',
        '--password-env',
        'MAILWIRE_TEST_PASSWORD',
        '--from',
        'someone@gmail.com',
        '--to',
        'friend@example.com',
        '--text',
        'hi',
        '--json',
      ],
      { env: { MAILWIRE_TEST_PASSWORD: SECRET } },
    );

    expect(send.status).toBe(1);
    const json = JSON.parse(send.stdout);
    expect(json.error.code).toBe('EAUTH');
    expect(json.error.phase).toBe('auth');
    expect(json.error.responseCode).toBe(535);
    expect(json.error.enhancedCode).toBe('5.7.8');
    expect(send.stderr).toMatch(/### TLS started: TLSv1\.[23].*, verified/);
    expect(send.stderr).toContain('Diagnosis: Gmail rejected the user name and password');

    const [status] = await replay.exited;
    expect(status).toBe(0);
    expect(replay.stderr()).toContain('the client followed the recording to its end');
    expect(replay.stderr()).not.toContain(SECRET);
    expect(replay.stderr()).not.toContain(Buffer.from(SECRET).toString('base64'));
  });

  it('reports where the client departs from the recording', async () => {
    const replay = await startReplay('gmail-535-bad-credentials.log');
    const caFile = await replay.caFile();

    // Without --user the client sends MAIL where the recording has AUTH.
    const send = await runCli([
      'send',
      '--host',
      '127.0.0.1',
      '--port',
      replay.port,
      '--ca',
      caFile,
      '--from',
      'someone@gmail.com',
      '--to',
      'friend@example.com',
      '--json',
    ]);

    expect(send.status).toBe(1);
    expect(JSON.parse(send.stdout).error.responseCode).toBe(502);
    const [status] = await replay.exited;
    expect(status).toBe(1);
    const departure = /client line 4: the client sent "MAIL FROM:<someone@gmail\.com>[^"]*"(.*)/;
    expect(replay.stderr()).toMatch(departure);
    const rest = departure.exec(replay.stderr())?.[1];
    expect(rest).toBe(' where the recording has "AUTH PLAIN ********" (line 24)');
  });

  it('reproduces a 552 after the message data over implicit TLS', async () => {
    const replay = await startReplay('gmail-552-message-too-large.log');
    const caFile = await replay.caFile();

    const send = await runCli(
      [
        'send',
        '--host',
        '127.0.0.1',
        '--port',
        replay.port,
        '--secure',
        '--ca',
        caFile,
        '--user',
        'maria@example.com',
        '--password-env',
        'MAILWIRE_TEST_PASSWORD',
        '--from',
        'maria@example.com',
        '--to',
        'lab@example.com',
        '--text',
        'the attachment would go here',
        '--json',
      ],
      { env: { MAILWIRE_TEST_PASSWORD: SECRET } },
    );

    expect(send.status).toBe(1);
    const json = JSON.parse(send.stdout);
    expect(json.error.code).toBe('EMESSAGE');
    expect(json.error.responseCode).toBe(552);
    expect(json.error.enhancedCode).toBe('5.2.3');
    const [status] = await replay.exited;
    expect(status).toBe(0);
  });

  it('plays a silent server that never greets', async () => {
    const replay = await startReplay('silent-465-greeting-timeout.log');
    const send = await runCli([
      'send',
      '--host',
      '127.0.0.1',
      '--port',
      replay.port,
      '--from',
      'a@example.com',
      '--to',
      'b@example.com',
      '--timeout',
      '1500',
      '--json',
    ]);

    expect(send.status).toBe(1);
    expect(JSON.parse(send.stdout).error.code).toBe('ETIMEDOUT');
    expect(send.stderr).toContain(
      'Diagnosis: The server accepted the connection but never sent its greeting.',
    );
    const [status] = await replay.exited;
    expect(status).toBe(0);
  });

  it('exits 2 for a connection the recording does not have', async () => {
    const result = await runCli([
      'replay',
      join(FIXTURES, 'gmail-535-bad-credentials.log'),
      '--connection',
      '9',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('Connection 9 is not in the recording; its connections are 1');
  });
});
