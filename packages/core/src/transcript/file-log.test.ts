import { describe, expect, it } from 'vitest';
import type { TranscriptEntry } from './entry.js';
import {
  type LogFileEnvironment,
  LogFileRegistry,
  type LogFileSystem,
  type LogWriteFailure,
  rotatedLogPath,
} from './file-log.js';

const decoder = new TextDecoder();

/** Files in memory, with every call recorded. `async` makes each call return a promise. */
class MemoryFileSystem implements LogFileSystem {
  readonly files = new Map<string, string>();
  readonly calls: string[] = [];
  /** Paths whose next `append` calls throw, with the error message to throw. */
  readonly failing = new Map<string, string>();
  readonly asynchronous: boolean;

  constructor(asynchronous: boolean) {
    this.asynchronous = asynchronous;
  }

  append(path: string, bytes: Uint8Array) {
    return this.#run(`append ${path}`, () => {
      const failure = this.failing.get(path);
      if (failure !== undefined) throw new Error(failure);
      this.files.set(path, (this.files.get(path) ?? '') + decoder.decode(bytes));
    });
  }

  readTail(path: string): Uint8Array | undefined {
    const text = this.files.get(path);
    return text === undefined ? undefined : new TextEncoder().encode(text.slice(-8192));
  }

  size(path: string) {
    this.calls.push(`size ${path}`);
    const size = new TextEncoder().encode(this.files.get(path) ?? '').length;
    return this.asynchronous ? Promise.resolve(size) : size;
  }

  rename(from: string, to: string) {
    return this.#run(`rename ${from} ${to}`, () => {
      const content = this.files.get(from);
      if (content === undefined) return;
      this.files.delete(from);
      this.files.set(to, content);
    });
  }

  remove(path: string) {
    return this.#run(`remove ${path}`, () => {
      this.files.delete(path);
    });
  }

  close(path: string): void {
    this.calls.push(`close ${path}`);
  }

  lines(path: string): string[] {
    const content = this.files.get(path) ?? '';
    expect(content === '' || content.endsWith('\n')).toBe(true);
    return content === '' ? [] : content.slice(0, -1).split('\n');
  }

  #run(call: string, body: () => void): void | Promise<void> {
    this.calls.push(call);
    if (!this.asynchronous) return body();
    return Promise.resolve().then(body);
  }
}

/** A scheduler that runs callbacks only when the test calls `runAll`. */
class ManualScheduler {
  readonly queue: Array<() => void> = [];

  schedule = (callback: () => void): void => {
    this.queue.push(callback);
  };

  runAll(): void {
    for (const callback of this.queue.splice(0)) callback();
  }
}

interface Harness {
  registry: LogFileRegistry;
  fileSystem: MemoryFileSystem;
  scheduler: ManualScheduler;
  warnings: LogWriteFailure[];
}

function harness(asynchronous = false): Harness {
  const fileSystem = new MemoryFileSystem(asynchronous);
  const scheduler = new ManualScheduler();
  const warnings: LogWriteFailure[] = [];
  const environment: LogFileEnvironment = {
    fileSystem,
    schedule: scheduler.schedule,
    warn: (failure) => warnings.push(failure),
    resolvePath: (path) => (path.startsWith('/') ? path : `/work/${path}`),
  };
  return { registry: new LogFileRegistry(environment), fileSystem, scheduler, warnings };
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

function counters(lines: string[]): number[] {
  return lines.map((line) => (JSON.parse(line) as { counter: number }).counter);
}

describe.each([
  ['synchronous', false],
  ['asynchronous', true],
])('LogFileRegistry with a %s file system', (_, asynchronous) => {
  it('renumbers entries with the file counter', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/a.log', 'jsonl');

    sink.write([entry('EHLO client.example.test', 40), entry('QUIT', 41)]);
    sink.write([entry('EHLO again.example.test', 90)]);
    await sink.flush();

    expect(counters(fileSystem.lines('/logs/a.log'))).toEqual([1, 2, 3]);
  });

  it('shares one writer between spellings of a path', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const first = registry.open('/work/logs/a.log', 'text');
    const second = registry.open('logs/a.log', 'text');

    first.write([entry('NOOP 1')]);
    second.write([entry('NOOP 2')]);
    first.write([entry('NOOP 3')]);
    await second.flush();

    const lines = fileSystem.lines('/work/logs/a.log');
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['1', '2', '3']);
    expect(lines.map((line) => line.slice(line.indexOf('"')))).toEqual([
      '"NOOP 1"',
      '"NOOP 2"',
      '"NOOP 3"',
    ]);
  });

  it('writes one batch per scheduled turn', async () => {
    const { registry, fileSystem, scheduler } = harness(asynchronous);
    const sink = registry.open('/logs/a.log', 'text');

    sink.write([entry('MAIL FROM:<a@example.test>')]);
    sink.write([entry('RCPT TO:<b@example.test>')]);
    sink.write([entry('DATA')]);
    expect(scheduler.queue).toHaveLength(1);
    expect(fileSystem.calls).toEqual([]);

    scheduler.runAll();
    await sink.flush();
    expect(fileSystem.calls).toEqual(['append /logs/a.log']);
    expect(fileSystem.lines('/logs/a.log')).toHaveLength(3);
  });

  it('writes at once when 2048 lines wait', () => {
    const { registry, fileSystem } = harness();
    const sink = registry.open('/logs/a.log', 'text');

    for (let index = 0; index < 2047; index += 1) sink.write([entry(`NOOP ${index}`)]);
    expect(fileSystem.calls).toEqual([]);
    sink.write([entry('NOOP last')]);

    expect(fileSystem.calls).toEqual(['append /logs/a.log']);
    expect(fileSystem.lines('/logs/a.log')).toHaveLength(2048);
  });

  it('keeps batches in order', async () => {
    const { registry, fileSystem, scheduler } = harness(asynchronous);
    const sink = registry.open('/logs/a.log', 'jsonl');

    for (let turn = 0; turn < 5; turn += 1) {
      sink.write([entry(`NOOP ${turn}`)]);
      scheduler.runAll();
    }
    await sink.flush();

    const texts = fileSystem.lines('/logs/a.log').map((line) => JSON.parse(line).text);
    expect(texts).toEqual(['NOOP 0', 'NOOP 1', 'NOOP 2', 'NOOP 3', 'NOOP 4']);
  });

  it('rotates by size and keeps maxFiles old files', async () => {
    const { registry, fileSystem, scheduler } = harness(asynchronous);
    const sink = registry.open('/logs/r.log', 'jsonl', { maxBytes: 1000, maxFiles: 2 });

    for (let index = 0; index < 60; index += 1) {
      sink.write([entry(`DATA line ${index}`)]);
      if (index % 7 === 0) scheduler.runAll();
    }
    await sink.flush();

    expect([...fileSystem.files.keys()].sort()).toEqual([
      '/logs/r.log',
      '/logs/r_1.log',
      '/logs/r_2.log',
    ]);
    for (const content of fileSystem.files.values()) {
      expect(new TextEncoder().encode(content).length).toBeLessThanOrEqual(1000);
    }
    const all = ['/logs/r_2.log', '/logs/r_1.log', '/logs/r.log'].flatMap((path) =>
      counters(fileSystem.lines(path)),
    );
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => all[0]! + i));
    expect(all.at(-1)).toBe(60);
  });

  it('closes the file before renaming it', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/r.log', 'text', { maxBytes: 100, maxFiles: 2 });

    sink.write([entry('A'.repeat(40)), entry('B'.repeat(40))]);
    await sink.flush();

    expect(fileSystem.calls).toEqual([
      'size /logs/r.log',
      'append /logs/r.log',
      'close /logs/r.log',
      'rename /logs/r_1.log /logs/r_2.log',
      'rename /logs/r.log /logs/r_1.log',
      'append /logs/r.log',
    ]);
  });

  it('starts the file again when maxFiles is 0', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/s.log', 'jsonl', { maxBytes: 400, maxFiles: 0 });

    for (let index = 0; index < 10; index += 1) sink.write([entry(`NOOP ${index}`)]);
    await sink.flush();

    expect([...fileSystem.files.keys()]).toEqual(['/logs/s.log']);
    expect(counters(fileSystem.lines('/logs/s.log')).at(-1)).toBe(10);
    expect(fileSystem.calls).toContain('remove /logs/s.log');
  });

  it('puts a line longer than maxBytes in a file of its own', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/l.log', 'text', { maxBytes: 50, maxFiles: 3 });

    sink.write([entry('short'), entry('L'.repeat(200)), entry('short again')]);
    await sink.flush();

    expect(fileSystem.lines('/logs/l_2.log')).toHaveLength(1);
    expect(fileSystem.lines('/logs/l_1.log')[0]).toContain('L'.repeat(200));
    expect(fileSystem.lines('/logs/l.log')[0]).toContain('short again');
  });

  it('counts bytes of non-ASCII text', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/u.log', 'jsonl', { maxBytes: 600, maxFiles: 5 });

    for (let index = 0; index < 12; index += 1) sink.write([entry(`Grüße 😀 ${index}`)]);
    await sink.flush();

    for (const content of fileSystem.files.values()) {
      expect(new TextEncoder().encode(content).length).toBeLessThanOrEqual(600);
    }
    expect(fileSystem.files.size).toBeGreaterThan(1);
  });

  it('counts the bytes already in the file', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    fileSystem.files.set('/logs/e.log', `${'x'.repeat(90)}\n`);
    const sink = registry.open('/logs/e.log', 'text', { maxBytes: 100 });

    sink.write([entry('NOOP')]);
    await sink.flush();

    expect(fileSystem.files.get('/logs/e_1.log')).toBe(`${'x'.repeat(90)}\n`);
    expect(fileSystem.lines('/logs/e.log')).toHaveLength(1);
  });

  it('reports a failing file once and never throws', async () => {
    const { registry, fileSystem, scheduler, warnings } = harness(asynchronous);
    fileSystem.failing.set('/logs/f.log', 'EACCES: permission denied');
    const sink = registry.open('/logs/f.log', 'text');

    for (let index = 0; index < 5; index += 1) {
      expect(() => sink.write([entry(`NOOP ${index}`)])).not.toThrow();
      scheduler.runAll();
    }
    await sink.flush();

    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.path).toBe('/logs/f.log');
    expect(warnings[0]?.message).toBe(
      'Writing the log file /logs/f.log failed: EACCES: permission denied. ' +
        'Transcript lines for this file are dropped while writing fails',
    );
    expect(fileSystem.calls.filter((call) => call === 'close /logs/f.log')).toHaveLength(5);
  });

  it('reads the size again after a failure', async () => {
    const { registry, fileSystem } = harness(asynchronous);
    const sink = registry.open('/logs/g.log', 'text', { maxBytes: 1000 });

    sink.write([entry('NOOP 1')]);
    await sink.flush();
    fileSystem.failing.set('/logs/g.log', 'ENOSPC: no space left on device');
    sink.write([entry('NOOP 2')]);
    await sink.flush();
    fileSystem.failing.delete('/logs/g.log');
    sink.write([entry('NOOP 3')]);
    await sink.flush();

    expect(fileSystem.calls.filter((call) => call.startsWith('size'))).toHaveLength(2);
    expect(fileSystem.lines('/logs/g.log').map((line) => line.split(' ')[0])).toEqual(['1', '3']);
  });

  it('resolves flush at once when nothing was written', async () => {
    const { registry, fileSystem } = harness(asynchronous);

    await expect(registry.open('/logs/n.log', 'text').flush()).resolves.toBeUndefined();
    expect(fileSystem.calls).toEqual([]);
  });
});

describe('LogFileRegistry counter', () => {
  it.each([
    ['text', '41 2026-01-02T03:04:05.678 99 1 C > "QUIT"\n', 42],
    ['jsonl', '{"counter":7,"time":"2026-01-02T03:04:05.678Z"}\n', 8],
    ['text with a torn last line', '5 2026-01-02T03:04:05.678 99 1 ### x\n6 2026-01-0', 7],
    ['foreign text', 'not a transcript line\n', 1],
  ])('continues after the last counter in an existing %s file', async (_, existing, first) => {
    const { registry, fileSystem, scheduler } = harness();
    fileSystem.files.set('/logs/old.log', existing);
    const sink = registry.open('/logs/old.log', 'jsonl');

    sink.write([entry('EHLO client.example.test')]);
    scheduler.runAll();
    await sink.flush();

    const added = fileSystem.files.get('/logs/old.log')!.slice(existing.length).trim();
    expect(counters([added])).toEqual([first]);
  });
});

describe('LogFileRegistry.writePending', () => {
  it('writes every file before returning with a synchronous file system', () => {
    const { registry, fileSystem } = harness(false);
    registry.open('/logs/a.log', 'text').write([entry('QUIT')]);
    registry.open('/logs/b.log', 'text').write([entry('QUIT')]);

    registry.writePending();

    expect(fileSystem.lines('/logs/a.log')).toHaveLength(1);
    expect(fileSystem.lines('/logs/b.log')).toHaveLength(1);
  });
});

describe('LogFileRegistry.open', () => {
  it('rejects invalid rotation options', () => {
    const { registry } = harness();

    expect(() => registry.open('/logs/a.log', 'text', { maxBytes: 0 })).toThrow(/Invalid maxBytes/);
    expect(() => registry.open('/logs/a.log', 'text', { maxFiles: -1 })).toThrow(
      /Invalid maxFiles/,
    );
  });

  it('rejects an unknown format', () => {
    const { registry } = harness();

    expect(() => registry.open('/logs/a.log', 'xml' as 'text')).toThrow(/Invalid log format: xml/);
  });

  it('calls sync on flush and reports its failure', async () => {
    const { registry, fileSystem, warnings } = harness();
    const synced: string[] = [];
    Object.assign(fileSystem, {
      sync: async (path: string) => {
        synced.push(path);
        throw new Error('EIO: i/o error');
      },
    });
    const sink = registry.open('/logs/a.log', 'text');

    sink.write([entry('QUIT')]);
    await sink.flush();

    expect(synced).toEqual(['/logs/a.log']);
    expect(warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining('EIO: i/o error'),
    ]);
  });
});

describe('rotatedLogPath', () => {
  it.each([
    ['/var/log/mail.log', 2, '/var/log/mail_2.log'],
    ['/var/log/mail', 1, '/var/log/mail_1'],
    ['/var/log/.mailwire', 1, '/var/log/.mailwire_1'],
    ['/var/log.d/mail', 3, '/var/log.d/mail_3'],
    ['C:\\logs\\mail.txt', 1, 'C:\\logs\\mail_1.txt'],
    ['mail.tar.log', 4, 'mail.tar_4.log'],
  ])('%s with index %i becomes %s', (path, index, expected) => {
    expect(rotatedLogPath(path, index)).toBe(expected);
  });
});
