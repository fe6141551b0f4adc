/**
 * Log files that lose nothing: many concurrent sessions writing to one file, a file that
 * cannot be written, a normal close, a process that dies of an uncaught exception, and
 * size-based rotation. Every line must be whole, parse, and carry the next counter.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTransporter,
  formatTextLine,
  MemorySink,
  openLogFile,
  parseTextLine,
  type TranscriptEntry,
  type Transporter,
  type TransporterOptions,
} from '@mailwire/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.js';
import { runChildSend } from './child.js';

const MESSAGE = { from: 'sender@mw.test', to: 'rcpt@mw.test', subject: 'Log test', text: 'Hello' };

/** Sessions in the concurrency test, and how many run at once. */
const SESSIONS = 300;
const TRANSPORTERS = 10;
const IN_FLIGHT = 50;
const JSON_SESSIONS = 100;

const directory = mkdtempSync(join(tmpdir(), 'mailwire-hardening-logs-'));
let fileIndex = 0;
let smtp: TestSmtpServer;

beforeAll(async () => {
  smtp = await startSmtpServer({ startTls: false });
});

afterAll(async () => {
  await smtp.close();
  rmSync(directory, { recursive: true, force: true });
});

function freshPath(name = 'smtp'): string {
  fileIndex += 1;
  return join(directory, `${name}-${fileIndex}.log`);
}

function transporter(options: Partial<TransporterOptions>): Transporter {
  return createTransporter({ host: '127.0.0.1', port: smtp.port, pool: false, ...options });
}

/** Run `tasks` with at most `limit` of them at once. */
async function runLimited<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Return the lines of a log file, which must end with a line feed. */
function readLines(path: string): string[] {
  const content = readFileSync(path, 'utf8');
  expect(content.endsWith('\n'), `${path} does not end with a whole line`).toBe(true);
  return content.slice(0, -1).split('\n');
}

/** Parse every line, failing on the first one that does not parse. */
function parseAll(lines: readonly string[]): TranscriptEntry[] {
  return lines.map((line, index) => {
    const entry = parseTextLine(line);
    expect(entry, `line ${index + 1} does not parse: ${line.slice(0, 120)}`).not.toBeNull();
    return entry!;
  });
}

function expectConsecutiveCounters(entries: readonly TranscriptEntry[], first = 1): void {
  entries.forEach((entry, index) => {
    if (entry.counter !== first + index) {
      expect.fail(`line ${index + 1} has counter ${entry.counter}, expected ${first + index}`);
    }
  });
}

/** Group entries by connection id, in file order. */
function bySession(entries: readonly TranscriptEntry[]): Map<number, TranscriptEntry[]> {
  const sessions = new Map<number, TranscriptEntry[]>();
  for (const entry of entries) {
    const list = sessions.get(entry.connectionId) ?? [];
    list.push(entry);
    sessions.set(entry.connectionId, list);
  }
  return sessions;
}

/** Strip the counter from a text line, because the file numbers its lines itself. */
const withoutCounter = (line: string) => line.slice(line.indexOf(' ') + 1);

function expectCompleteSession(lines: readonly TranscriptEntry[], id: number): void {
  const texts = lines.map((entry) => `${entry.direction} ${entry.text}`);
  const context = `session ${id}`;
  expect(texts[0], context).toMatch(/^event SMTP Connected to '127\.0\.0\.1' on port \d+\.$/);
  expect(texts, context).toContain('client QUIT');
  expect(
    texts.some((text) => /^server 250 .*OK: message queued/.test(text)),
    context,
  ).toBe(true);
  expect(texts.at(-1), context).toBe('event SMTP Connection closed');
}

describe('log files shared by concurrent sessions', () => {
  it(`keeps every line of ${SESSIONS} sessions`, async () => {
    // A JSON Lines file is written at the same time, so each file must number its own lines.
    const path = freshPath('concurrent');
    const jsonPath = freshPath('concurrent-jsonl');
    const memory = new MemorySink();
    const transporters = Array.from({ length: TRANSPORTERS }, () =>
      transporter({ logFile: path, transcriptSink: memory }),
    );
    const jsonTransporters = Array.from({ length: 5 }, () =>
      transporter({ logFile: jsonPath, logFormat: 'jsonl' }),
    );

    const tasks = Array.from({ length: SESSIONS }, (_, index) => () => {
      const sender = transporters[index % TRANSPORTERS]!;
      return sender.send({ ...MESSAGE, subject: `Message ${index}` });
    });
    const jsonTasks = Array.from({ length: JSON_SESSIONS }, (_, index) => () => {
      return jsonTransporters[index % 5]!.send(MESSAGE);
    });
    const results = await runLimited([...tasks, ...jsonTasks], IN_FLIGHT);
    await Promise.all([...transporters, ...jsonTransporters].map((sender) => sender.close()));

    expect(results.every((result) => result.accepted.length === 1)).toBe(true);
    const lines = readLines(path);
    const entries = parseAll(lines);
    expectConsecutiveCounters(entries);
    const sessions = bySession(entries);
    expect(sessions.size).toBe(SESSIONS);
    for (const [id, sessionLines] of sessions) expectCompleteSession(sessionLines, id);
    // The file contains exactly what the sinks were handed, in the same order.
    const handed = memory.entries.map((entry) => withoutCounter(formatTextLine(entry)));
    expect(lines.map(withoutCounter)).toEqual(handed);

    const records = readLines(jsonPath).map((line) => JSON.parse(line) as TranscriptEntry);
    expectConsecutiveCounters(records);
    const jsonSessions = bySession(records);
    expect(jsonSessions.size).toBe(JSON_SESSIONS);
    for (const [id, sessionLines] of jsonSessions) expectCompleteSession(sessionLines, id);
  }, 60_000);
});

describe('a log file that cannot be written', () => {
  const warnings: Array<{ code?: string; message: string }> = [];
  const onWarning = (warning: Error & { code?: string }) => {
    warnings.push({ code: warning.code, message: warning.message });
  };

  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  /** Send five messages, two of them concurrently, and return the warnings for `path`. */
  async function sendWithBrokenLog(path: string) {
    process.on('warning', onWarning);
    const sender = transporter({ logFile: path });

    const first = await sender.send(MESSAGE);
    const more = await Promise.all([sender.send(MESSAGE), sender.send(MESSAGE)]);
    const last = [await sender.send(MESSAGE), await sender.send(MESSAGE)];
    await sender.close();
    // Warnings are emitted on a later tick.
    await new Promise((resolve) => setTimeout(resolve, 50));

    for (const result of [first, ...more, ...last]) expect(result.accepted).toEqual([MESSAGE.to]);
    return warnings.filter((warning) => warning.message.includes(path));
  }

  it('reports a directory path once and keeps sending', async () => {
    const path = freshPath('is-a-directory');
    mkdirSync(path);

    const reported = await sendWithBrokenLog(path);

    expect(reported).toHaveLength(1);
    expect(reported[0]?.code).toBe('MAILWIRE_LOG_WRITE_FAILED');
    expect(reported[0]?.message).toMatch(/^Writing the log file .* failed: /);
  });

  it('reports a path under a file once and keeps sending', async () => {
    const parent = freshPath('regular-file');
    writeFileSync(parent, '');
    const reported = await sendWithBrokenLog(join(parent, 'smtp.log'));

    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toContain('ENOTDIR');
  });

  it.skipIf(!existsSync('/dev/full'))('reports a full disk once and keeps sending', async () => {
    // A link to /dev/full, where every write fails with ENOSPC.
    const path = freshPath('disk-full');
    symlinkSync('/dev/full', path);

    const reported = await sendWithBrokenLog(path);

    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toContain('ENOSPC');
  });

  it('reports a read-only directory once and keeps sending', async () => {
    // The superuser may write into any directory, so the send then runs as the user `nobody`.
    const asRoot = process.getuid?.() === 0;
    const parent = freshPath('read-only');
    mkdirSync(parent, { mode: 0o555 });
    if (asRoot) chmodSync(directory, 0o755);
    const options = { host: '127.0.0.1', port: smtp.port, logFile: join(parent, 'smtp.log') };

    const nobody = asRoot ? { uid: 65534, gid: 65534 } : undefined;
    const run = await runChildSend({ options, message: MESSAGE }, 15_000, nobody);

    expect(run.outcome).toMatchObject({ sent: true });
    const warnings = run.stderr.split('\n').filter((line) => line.includes('MailwireWarning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('EACCES');
  });
});

describe('lines handed to the sink', () => {
  it('are on disk when close() resolves after an input error', async () => {
    // Nothing connects, so the only line is still buffered when close() is called.
    const path = freshPath('close-input-error');
    const sender = transporter({ logFile: path });

    await expect(sender.send({ ...MESSAGE, to: 'rcpt@mw.test\r\nDATA' })).rejects.toThrow();
    await sender.close();

    const entries = parseAll(readLines(path));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.text).toMatch(/^Message rejected before connecting: Invalid to/);
  });

  it('are on disk when close() resolves', async () => {
    const path = freshPath('close');
    const memory = new MemorySink();
    const sender = transporter({ logFile: path, transcriptSink: memory });

    await sender.send(MESSAGE);
    await sender.close();

    // Read at once: no further turn of the event loop may be needed.
    const entries = parseAll(readLines(path));
    expect(entries).toHaveLength(memory.entries.length);
    expectCompleteSession(entries, entries[0]!.connectionId);
  });

  it('are on disk after an uncaught exception ends the process', async () => {
    const path = freshPath('crash');
    const options = { host: '127.0.0.1', port: smtp.port, logFile: path };

    const run = await runChildSend({ options, message: MESSAGE, after: 'throw' }, 15_000);

    expect(run.timedOut).toBe(false);
    expect(run.outcome).toMatchObject({ sent: true });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('Deliberate crash right after the send');
    const entries = parseAll(readLines(path));
    expectConsecutiveCounters(entries);
    expectCompleteSession(entries, entries[0]!.connectionId);
  });
});

describe('rotation', () => {
  /** List the files of a rotated log, oldest first: `name_<n>.log` to `name_1.log`, `name.log`. */
  function rotatedFiles(path: string): string[] {
    const base = path.slice(0, -'.log'.length);
    const prefix = `${base.slice(directory.length + 1)}_`;
    const indexes = readdirSync(directory)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.log'))
      .map((name) => Number(name.slice(prefix.length, -'.log'.length)))
      .sort((a, b) => b - a);
    return [...indexes.map((index) => `${base}_${index}.log`), path];
  }

  it('splits the log into whole lines across files', async () => {
    const path = freshPath('rotating');
    const maxBytes = 2048;
    openLogFile(path, 'text', { maxBytes, maxFiles: 1000 });
    const memory = new MemorySink();
    const senders = [1, 2, 3].map(() => transporter({ logFile: path, transcriptSink: memory }));

    const tasks = Array.from({ length: 30 }, (_, index) => () => senders[index % 3]!.send(MESSAGE));
    await runLimited(tasks, 10);
    await Promise.all(senders.map((sender) => sender.close()));

    const files = rotatedFiles(path);
    expect(files.length).toBeGreaterThan(5);
    expect(files.at(-2)).toBe(path.replace(/\.log$/, '_1.log'));
    const entries: TranscriptEntry[] = [];
    for (const file of files) {
      expect(statSync(file).size, file).toBeLessThanOrEqual(maxBytes);
      entries.push(...parseAll(readLines(file)));
    }
    expectConsecutiveCounters(entries);
    expect(entries).toHaveLength(memory.entries.length);
  });

  it('gives a line longer than maxBytes a file of its own', async () => {
    const path = freshPath('long-line');
    const maxBytes = 512;
    openLogFile(path, 'text', { maxBytes, maxFiles: 1000 });
    const sender = transporter({ logFile: path, logBody: 'full' });
    const raw = `Subject: long line\r\n\r\n${'x'.repeat(900)}\r\n`;

    await sender.send({ envelope: { from: MESSAGE.from, to: MESSAGE.to }, raw });
    await sender.close();

    const entries: TranscriptEntry[] = [];
    for (const file of rotatedFiles(path)) {
      const lines = readLines(file);
      if (statSync(file).size > maxBytes) expect(lines, file).toHaveLength(1);
      entries.push(...parseAll(lines));
    }
    expectConsecutiveCounters(entries);
    expect(entries.some((entry) => entry.text.length > maxBytes)).toBe(true);
  });

  it('keeps maxFiles rotated files with the newest lines', async () => {
    const path = freshPath('few-files');
    openLogFile(path, 'text', { maxBytes: 1024, maxFiles: 2 });
    const sender = transporter({ logFile: path });

    for (let index = 0; index < 5; index++) await sender.send(MESSAGE);
    await sender.close();

    const files = rotatedFiles(path);
    const base = path.slice(0, -'.log'.length);
    expect(files).toEqual([`${base}_2.log`, `${base}_1.log`, path]);
    const entries = files.flatMap((file) => parseAll(readLines(file)));
    expectConsecutiveCounters(entries, entries[0]!.counter);
    expect(entries.at(-1)?.text).toBe('SMTP Connection closed');
  });
});
