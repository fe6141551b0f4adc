import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TranscriptEntry } from '@mailwire/core';
import { build } from 'esbuild';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { globalLogFile, openLogFile, setGlobalLogFile } from './file-sink.js';

const directory = mkdtempSync(join(tmpdir(), 'mailwire-file-sink-'));
let fileIndex = 0;

afterAll(() => rmSync(directory, { recursive: true, force: true }));

function freshPath(name = 'transcript'): string {
  fileIndex += 1;
  return join(directory, `${name}-${fileIndex}.log`);
}

function entry(text: string, counter = 1): TranscriptEntry {
  return {
    counter,
    time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
    elapsedMs: 12,
    processId: 4242,
    connectionId: 7,
    direction: 'client',
    text,
    redacted: false,
  };
}

function readJsonLines(path: string): Array<{ counter: number; text: string }> {
  const content = readFileSync(path, 'utf8');
  expect(content.endsWith('\n')).toBe(true);
  return content
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line));
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('openLogFile', () => {
  it('creates the file with mode 0600', async () => {
    const path = freshPath();
    const sink = openLogFile(path, 'text');

    sink.write([entry('EHLO client.example.test')]);
    await sink.flush();

    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('writes whole lines in the text format', async () => {
    const path = freshPath();
    const sink = openLogFile(path, 'text');

    sink.write([entry('EHLO client.example.test'), entry('MAIL FROM:<a@example.test>')]);
    await sink.flush();

    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toMatch(/^1 .*EHLO client\.example\.test/);
    expect(lines[1]).toMatch(/^2 .*MAIL FROM:<a@example\.test>/);
  });

  it('renumbers entries with the file counter', async () => {
    const path = freshPath();
    const sink = openLogFile(path, 'jsonl');

    sink.write([entry('EHLO client.example.test', 40), entry('QUIT', 41)]);
    sink.write([entry('EHLO again.example.test', 90)]);
    await sink.flush();

    const counters = readJsonLines(path).map((line) => line.counter);
    expect(counters).toEqual([1, 2, 3]);
  });

  it('shares one counter between sinks on one path', async () => {
    const path = freshPath();
    const first = openLogFile(path, 'jsonl');
    const second = openLogFile(relative(process.cwd(), path), 'jsonl');

    for (let index = 0; index < 20; index += 1) {
      const sink = index % 2 === 0 ? first : second;
      sink.write([entry(`NOOP ${index}`)]);
      if (index % 5 === 0) await nextTurn();
    }
    await Promise.all([first.flush(), second.flush()]);

    const lines = readJsonLines(path);
    expect(lines.map((line) => line.counter)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(lines.map((line) => line.text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `NOOP ${i}`),
    );
  });

  it('resolves flush once earlier writes are in the file', async () => {
    const path = freshPath();
    const sink = openLogFile(path, 'jsonl');

    sink.write(
      Array.from({ length: 500 }, (_, index) => entry(`RCPT TO:<r${index}@example.test>`)),
    );
    await sink.flush();

    expect(readJsonLines(path)).toHaveLength(500);
  });

  it('resolves flush at once when nothing was written', async () => {
    const sink = openLogFile(freshPath(), 'text');

    await expect(sink.flush()).resolves.toBeUndefined();
  });

  it('rotates by size and keeps maxFiles old files', async () => {
    const path = freshPath('rotating');
    const sink = openLogFile(path, 'jsonl', { maxBytes: 1000, maxFiles: 2 });

    for (let index = 0; index < 60; index += 1) {
      sink.write([entry(`DATA line ${index}`)]);
      if (index % 7 === 0) await nextTurn();
    }
    await sink.flush();

    const stem = path.slice(0, -'.log'.length);
    const names = readdirSync(directory).filter((name) => name.startsWith('rotating-'));
    expect(names.sort()).toEqual(
      [`${stem}.log`, `${stem}_1.log`, `${stem}_2.log`].map((file) =>
        file.slice(directory.length + 1),
      ),
    );
    for (const file of [path, `${stem}_1.log`, `${stem}_2.log`]) {
      expect(statSync(file).size).toBeLessThanOrEqual(1000);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }

    // The newest lines are in the current file and the counter runs on across the files.
    const oldest = readJsonLines(`${stem}_2.log`).map((line) => line.counter);
    const older = readJsonLines(`${stem}_1.log`).map((line) => line.counter);
    const current = readJsonLines(path).map((line) => line.counter);
    expect([...oldest, ...older, ...current]).toEqual(
      Array.from(
        { length: oldest.length + older.length + current.length },
        (_, i) => oldest[0]! + i,
      ),
    );
    expect(current.at(-1)).toBe(60);
  });

  it('starts the file again when maxFiles is 0', async () => {
    const path = freshPath('single');
    const sink = openLogFile(path, 'jsonl', { maxBytes: 400, maxFiles: 0 });

    for (let index = 0; index < 10; index += 1) sink.write([entry(`NOOP ${index}`)]);
    await sink.flush();

    const names = readdirSync(directory).filter((name) => name.startsWith('single-'));
    expect(names).toHaveLength(1);
    expect(readJsonLines(path).at(-1)?.counter).toBe(10);
    expect(statSync(path).size).toBeLessThanOrEqual(400);
  });

  it('rejects invalid rotation options', () => {
    expect(() => openLogFile(freshPath(), 'text', { maxBytes: 0 })).toThrow(/Invalid maxBytes/);
    expect(() => openLogFile(freshPath(), 'text', { maxFiles: -1 })).toThrow(/Invalid maxFiles/);
  });

  it('rejects an unknown format', () => {
    expect(() => openLogFile(freshPath(), 'xml' as 'text')).toThrow(/Invalid log format: xml/);
  });
});

describe('openLogFile failures', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);

  afterEach(() => {
    process.off('warning', onWarning);
    warnings.length = 0;
  });

  it('reports a failing file once and never throws', async () => {
    process.on('warning', onWarning);
    // A directory cannot be opened for appending, whatever the user's permissions.
    const sink = openLogFile(directory, 'text');

    for (let index = 0; index < 5; index += 1) {
      expect(() => sink.write([entry(`NOOP ${index}`)])).not.toThrow();
      await nextTurn();
    }
    await sink.flush();
    await nextTurn();

    const reported = warnings.filter(
      (warning) => (warning as { code?: string }).code === 'MAILWIRE_LOG_WRITE_FAILED',
    );
    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toContain(directory);
    expect(reported[0]?.message).toContain('EISDIR');
  });
});

describe('globalLogFile', () => {
  const saved = process.env.MAILWIRE_LOG;

  afterEach(() => {
    setGlobalLogFile(undefined);
    if (saved === undefined) delete process.env.MAILWIRE_LOG;
    else process.env.MAILWIRE_LOG = saved;
  });

  it('falls back to MAILWIRE_LOG', () => {
    process.env.MAILWIRE_LOG = '/var/log/mailwire-from-env.log';

    expect(globalLogFile()).toBe('/var/log/mailwire-from-env.log');
  });

  it('prefers the path set in code', () => {
    process.env.MAILWIRE_LOG = '/var/log/mailwire-from-env.log';
    setGlobalLogFile('/var/log/mailwire-from-code.log');

    expect(globalLogFile()).toBe('/var/log/mailwire-from-code.log');
  });

  it('returns undefined when nothing is set', () => {
    delete process.env.MAILWIRE_LOG;

    expect(globalLogFile()).toBeUndefined();
  });
});

describe('openLogFile at exit', () => {
  it('writes buffered lines when the process exits', async () => {
    const script = join(directory, 'exit-script.mjs');
    const path = freshPath('exit');
    const here = fileURLToPath(new URL('.', import.meta.url));
    await build({
      stdin: {
        contents: `
          import { openLogFile } from './file-sink.ts';
          const sink = openLogFile(process.argv[2], 'jsonl');
          sink.write([${JSON.stringify(entry('QUIT'))}]);
          process.exit(0);
        `,
        resolveDir: here,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: script,
      logLevel: 'silent',
    });

    await promisify(execFile)(process.execPath, [script, path]);

    expect(readJsonLines(path).map((line) => line.text)).toEqual(['QUIT']);
  });
});
