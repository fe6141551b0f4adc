import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testCertificates } from '../../../test/support/certs.js';
import { startSmtpServer, type TestSmtpServer } from '../../../test/support/smtp-server.js';
import { fileDirectory } from '../../../test/support/temporary.js';
import { CLI_PATH, waitForOutput } from './cli.test-helpers.js';

/** util-linux `script`, which runs a command on a new pseudo-terminal. */
const SCRIPT = '/usr/bin/script';

const USER = 'demo@example.test';
const PASSWORD = 'demo-Passw0rd';

const caFile = join(fileDirectory('mailwire-cli-prompt-'), 'ca.pem');
const servers: TestSmtpServer[] = [];

beforeAll(() => {
  writeFileSync(caFile, testCertificates().caPem);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Run `probe` on a pseudo-terminal, type the password at the prompt, return all output. */
async function probeOnTerminal(
  env: Record<string, string>,
): Promise<{ status: number | null; output: string }> {
  expect(existsSync(SCRIPT), `${SCRIPT} is missing: install util-linux`).toBe(true);
  const smtp = await startSmtpServer();
  servers.push(smtp);
  const command = [
    process.execPath,
    CLI_PATH,
    'probe',
    '--host',
    '127.0.0.1',
    '--port',
    String(smtp.port),
  ]
    .concat(['--ca', caFile, '--user', USER, '--quiet'])
    .map((word) => `'${word}'`)
    .join(' ');
  const child = spawn(SCRIPT, ['-q', '-e', '-c', command, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

  await waitForOutput(child.stdout, /Password for demo@example\.test: /);
  child.stdin.write(`${PASSWORD}\r`);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const status = await exited;
  clearTimeout(timer);
  return { status, output };
}

describe('password prompt', () => {
  it('reads the password on a terminal without echo', async () => {
    const { status, output } = await probeOnTerminal({ NO_COLOR: '1' });

    expect(status).toBe(0);
    expect(output).toContain(`Authentication: accepted for ${USER}`);
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain('\u001b[');
  });

  it('colours output on a terminal without NO_COLOR', async () => {
    const { status, output } = await probeOnTerminal({ NO_COLOR: '' });

    expect(status).toBe(0);
    expect(output).toContain('\u001b[1mGreeting:\u001b[22m');
    expect(output).not.toContain(PASSWORD);
  });
});
