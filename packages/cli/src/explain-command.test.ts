import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDirectory } from '../../../test/support/temporary.js';
import { FIXTURES, runCli } from './cli.test-helpers.js';

interface Expected {
  file: string;
  /** Index of the connection in the report. */
  connection: number;
  outcome: string;
  diagnosis: string;
  step?: string;
  replyCode?: number | null;
  enhancedCode?: string | null;
  lines?: number[];
}

const CASES: Expected[] = [
  {
    file: 'gmail-535-bad-credentials.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'auth-app-password',
    step: 'AUTH',
    replyCode: 535,
    enhancedCode: '5.7.8',
    lines: [24, 25, 26],
  },
  {
    file: 'gmail-534-app-password.jsonl',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'auth-app-password',
    step: 'AUTH',
    replyCode: 534,
    enhancedCode: '5.7.9',
    lines: [13, 17, 18, 19],
  },
  {
    file: 'postfix-530-starttls-first.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'starttls-first',
    step: 'MAIL',
    replyCode: 530,
    enhancedCode: '5.7.0',
    lines: [13, 16],
  },
  {
    file: 'postfix-530-starttls-first.log',
    connection: 1,
    outcome: 'failed',
    diagnosis: 'starttls-first',
    step: 'AUTH',
    replyCode: 530,
    lines: [35, 36],
  },
  {
    file: 'gmail-530-authentication-required.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'auth-required',
    step: 'MAIL',
    replyCode: 530,
    lines: [24, 27, 28],
  },
  {
    file: 'postgrey-450-greylisted.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'greylisting',
    step: 'RCPT',
    replyCode: 450,
    enhancedCode: '4.2.0',
    lines: [11, 14],
  },
  {
    file: 'gmail-552-message-too-large.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'message-too-large',
    step: '.',
    replyCode: 552,
    enhancedCode: '5.2.3',
    lines: [22, 23],
  },
  {
    file: 'silent-465-greeting-timeout.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'greeting-timeout-implicit-tls',
    step: 'GREETING',
    replyCode: null,
    lines: [1, 2],
  },
  {
    file: 'exim-starttls-self-signed.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'tls-untrusted-certificate',
    step: 'TLS',
    lines: [12],
  },
  {
    file: 'postfix-421-too-many-connections.log',
    connection: 0,
    outcome: 'failed',
    diagnosis: 'service-closing',
    step: 'GREETING',
    replyCode: 421,
    lines: [2],
  },
  {
    file: 'damaged-office365-535.log',
    connection: 1,
    outcome: 'failed',
    diagnosis: 'auth-basic-disabled',
    step: 'AUTH',
    replyCode: 535,
    enhancedCode: '5.7.139',
    lines: [56, 60, 61],
  },
];

describe('mailwire explain', () => {
  it.each(CASES)('diagnoses $file connection $connection as $diagnosis', async (expected) => {
    const result = await runCli(['explain', join(FIXTURES, expected.file), '--json']);
    expect(result.status).toBe(0);

    const report = JSON.parse(result.stdout);
    const connection = report.connections[expected.connection];
    expect(connection.outcome).toBe(expected.outcome);
    const failure = connection.failure;
    expect(failure.diagnosis.id).toBe(expected.diagnosis);
    if (expected.step !== undefined) expect(failure.step).toBe(expected.step);
    if (expected.replyCode !== undefined) expect(failure.replyCode).toBe(expected.replyCode);
    if (expected.enhancedCode !== undefined)
      expect(failure.enhancedCode).toBe(expected.enhancedCode);
    if (expected.lines !== undefined) expect(failure.lines).toEqual(expected.lines);
    expect(failure.diagnosis.causes.length).toBeGreaterThan(0);
    expect(failure.diagnosis.nextSteps.length).toBeGreaterThan(0);
  });

  it('reports a partial send with the rejected recipient as a warning', async () => {
    const result = await runCli([
      'explain',
      join(FIXTURES, 'postfix-550-unknown-recipient.log'),
      '--json',
    ]);
    const [connection] = JSON.parse(result.stdout).connections;

    expect(connection.outcome).toBe('partial');
    expect(connection.failure).toBeNull();
    expect(connection.accepted).toEqual(['ana.silva@example.org']);
    expect(connection.rejected[0].recipient).toBe('nobody@example.org');
    expect(connection.warnings[0].diagnosis.id).toBe('unknown-mailbox');
    expect(connection.warnings[0].lines).toEqual([26, 30]);
  });

  it('reads a damaged log and lists its repairs', async () => {
    const result = await runCli(['explain', join(FIXTURES, 'damaged-office365-535.log'), '--json']);
    const report = JSON.parse(result.stdout);

    expect(report.connections.map((connection: { id: number }) => connection.id)).toEqual([1, 2]);
    expect(report.connections[0].outcome).toBe('sent');
    const repairs = report.readWarnings.map(
      (warning: { line: number; message: string }) => warning.line,
    );
    expect(repairs).toEqual([2, 7, 9, 17, 29]);
    expect(report.readWarnings[0].message).toMatch(/2 records on one line/);
  });

  it('prints the diagnosis with line numbers as text', async () => {
    const result = await runCli(['explain', join(FIXTURES, 'gmail-535-bad-credentials.log')]);

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'Connection 1 (process 48213), lines 1-29: failed at AUTH: 535 5.7.8',
    );
    expect(result.stdout).toContain('Failed step: AUTH PLAIN ******** (lines 24-26)');
    expect(result.stdout).toContain(
      'Reply code 535: Authentication credentials invalid (RFC 4954 §6)',
    );
    expect(result.stdout).toContain(
      'Enhanced code 5.7.8: Permanent failure: Authentication credentials invalid',
    );
    expect(result.stdout).toMatch(
      /Diagnosis: Gmail rejected the user name and password; it usually needs an app password/,
    );
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('separates two processes that share connection id 1', async () => {
    const result = await runCli([
      'explain',
      join(FIXTURES, 'two-processes-same-connection-id.log'),
      '--json',
    ]);
    expect(result.status).toBe(0);
    const { connections } = JSON.parse(result.stdout);

    expect(connections).toHaveLength(2);
    const [first, second] = connections;
    expect(first.id).toBe(1);
    expect(first.processIds).toEqual([5120]);
    expect(first.outcome).toBe('sent');
    expect(first.accepted).toEqual(['ops@example.net']);
    expect([first.firstLine, first.lastLine]).toEqual([1, 30]);
    expect(second.id).toBe(1);
    expect(second.processIds).toEqual([6044]);
    expect(second.outcome).toBe('failed');
    expect(second.failure.step).toBe('AUTH');
    expect(second.failure.replyCode).toBe(535);
    expect([second.firstLine, second.lastLine]).toEqual([4, 34]);
  });

  it('names both connections in the text output', async () => {
    const result = await runCli([
      'explain',
      join(FIXTURES, 'two-processes-same-connection-id.log'),
    ]);

    expect(result.stdout).toContain(': 2 connections in 34 lines');
    expect(result.stdout).toContain(
      'Connection 1 (process 5120), lines 1-30: message accepted for 1 recipient',
    );
    expect(result.stdout).toContain(
      'Connection 1 (process 6044), lines 4-34: failed at AUTH: 535 5.7.8',
    );
  });

  it('lists what happened in line order', async () => {
    const result = await runCli(['explain', join(FIXTURES, 'gmail-552-message-too-large.log')]);
    const lines = result.stdout.split('\n');
    const dataSent = lines.findIndex((line) => /^ {4}21 +· Message data sent/.test(line));
    const dataEnd = lines.findIndex((line) => /^ {4}22-23 +✗ End of message data/.test(line));

    expect(dataSent).toBeGreaterThan(-1);
    expect(dataEnd).toBeGreaterThan(-1);
    expect(dataSent).toBeLessThan(dataEnd);
  });

  it('exits 2 for a missing file and for a file without transcript lines', async () => {
    const missing = await runCli(['explain', join(FIXTURES, 'no-such-file.log')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('file not found');

    const other = join(testDirectory('mailwire-cli-explain-'), 'notes.txt');
    writeFileSync(other, 'just some text\nwith no transcript in it\n');
    const empty = await runCli(['explain', other]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('No transcript lines');
  });
});
