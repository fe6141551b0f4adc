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
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const [, port] = await waitForOutput(child.stdout, /127\.0\.0\.1:(\d+)/);
  return {
    child,
    port: port!,
    exited,
    stdout: () => stdout,
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

  it('replays the connection of the process asked for', async () => {
    const replay = await startReplay('two-processes-same-connection-id.log', [
      '--connection',
      '5120:1',
    ]);
    const send = await runCli([
      'send',
      '--host',
      '127.0.0.1',
      '--port',
      replay.port,
      '--from',
      'reports@example.com',
      '--to',
      'ops@example.net',
      '--text',
      'daily report',
      '--json',
    ]);

    expect(send.status).toBe(0);
    expect(JSON.parse(send.stdout).accepted).toEqual(['ops@example.net']);
    const [status] = await replay.exited;
    expect(status).toBe(0);
    expect(replay.stdout()).toContain('Replaying connection 1 (process 5120) of ');
  });

  it('picks the failed connection of two with the same id', async () => {
    const replay = await startReplay('two-processes-same-connection-id.log');
    replay.child.kill('SIGINT');
    await replay.exited;

    expect(replay.stdout()).toContain('Replaying connection 1 (process 6044) of ');
  });

  it('picks the connection that contains --line', async () => {
    const replay = await startReplay('two-processes-same-connection-id.log', ['--line', '3']);
    replay.child.kill('SIGINT');
    await replay.exited;

    expect(replay.stdout()).toContain('Replaying connection 1 (process 5120) of ');
  });

  it('exits 2 when a connection id matches two processes', async () => {
    const result = await runCli([
      'replay',
      join(FIXTURES, 'two-processes-same-connection-id.log'),
      '--connection',
      '1',
    ]);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'Connection 1 matches 2 connections of the recording: 5120:1 (lines 1-30), ' +
        '6044:1 (lines 4-34). Give PROCESS:ID, or --line',
    );
  });

  it('shows one default for --port in the help', async () => {
    const result = await runCli(['replay', '--help']);

    expect(result.status).toBe(0);
    // Commander wraps the help to the terminal width, so compare with the spaces collapsed.
    const help = result.stdout.replace(/\s+/g, ' ');
    const port = /--port <number> (.*?) --tls-cert/.exec(help)?.[1];
    expect(port).toBe('TCP port on 127.0.0.1; 0 picks a free port (default: a free port)');
  });
});
