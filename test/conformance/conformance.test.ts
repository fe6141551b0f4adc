/**
 * Runs every conformance scenario on Node (in this process), Deno and Bun (each scenario in
 * a child process running runner.ts), against servers on 127.0.0.1 that each runtime gets
 * to itself. Every runtime must reach the scenario's expected outcome, and the three
 * transcripts must match line for line once run-specific details are normalised. A missing
 * runtime binary fails the tests rather than skipping them.
 */
import { execFile } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  escapeText,
  parseTextLine,
  type TranscriptDirection,
  type TranscriptEntry,
} from '@mailwire/core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nodeAdapter from '../../packages/node/src/index.js';
import { testCertificates } from '../support/certs.js';
import { startSilentServer, startSmtpServer } from '../support/smtp-server.js';
import {
  CLOSE_AFTER_DATA_BYTES,
  generatedMessageChunks,
  LARGE_MESSAGE_BYTES,
  REJECTED_RECIPIENT,
  runScenario,
  SCENARIOS,
  type Scenario,
  type ScenarioResult,
  type ScenarioSettings,
  type ServerKind,
} from './scenarios.js';

const HOST = '127.0.0.1';
const ROOT = resolve(import.meta.dirname, '../..');
const DENO = join(ROOT, 'node_modules/.bin/deno');
const BUN = join(ROOT, 'node_modules/.bin/bun');

const RUNTIMES = ['node', 'deno', 'bun'] as const;
type Runtime = (typeof RUNTIMES)[number];

const USER = 'conformance@example.test';
const PASSWORD = 'conformance-Passw0rd';

/** Time for one child process to start and run one scenario. */
const CHILD_TIMEOUT_MS = 60_000;
/** Time for all runtimes to run all scenarios; the runtimes run side by side. */
const SUITE_TIMEOUT_MS = 120_000;
/** A `closing` server connection that receives no bytes for this long is dropped. */
const CLOSING_IDLE_MS = 10_000;

/** What the test learned from one scenario on one runtime. */
interface RunOutcome {
  exitCode: number | null;
  stderr: string;
  /** Everything the run printed or returned, for the secrets check. */
  output: string;
  result: ScenarioResult | null;
  entries: TranscriptEntry[];
  /** Content of the global log file for scenarios that set `MAILWIRE_LOG`. */
  globalLog: string | null;
}

/** What the `hashing` server received: size and SHA-256 of each message, dots removed. */
interface ReceivedDigest {
  size: number;
  sha256: string;
}

interface RuntimeServers {
  ports: Record<ServerKind, number>;
  digests: ReceivedDigest[];
  close(): Promise<void>;
}

const outcomes = new Map<Runtime, Map<string, RunOutcome>>();
const portsByRuntime = new Map<Runtime, number[]>();
const digestsByRuntime = new Map<Runtime, ReceivedDigest[]>();
const openServers: RuntimeServers[] = [];
let workDir: string;
let expectedLargeDigest: ReceivedDigest;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'mailwire-conformance-'));
  expectedLargeDigest = digestOf(generatedMessageChunks(LARGE_MESSAGE_BYTES));

  await Promise.all(
    RUNTIMES.map(async (runtime) => {
      const servers = await startRuntimeServers();
      openServers.push(servers);
      portsByRuntime.set(runtime, Object.values(servers.ports));
      digestsByRuntime.set(runtime, servers.digests);
      outcomes.set(runtime, await runAllScenarios(runtime, servers));
    }),
  );
}, SUITE_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(openServers.map((servers) => servers.close()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Run every scenario on one runtime, one after another, and collect the outcomes. */
async function runAllScenarios(
  runtime: Runtime,
  servers: RuntimeServers,
): Promise<Map<string, RunOutcome>> {
  const results = new Map<string, RunOutcome>();
  const logDir = join(workDir, runtime);
  await mkdir(logDir, { recursive: true });

  for (const scenario of SCENARIOS) {
    const settings: ScenarioSettings = {
      host: HOST,
      port: servers.ports[scenario.server],
      ca: testCertificates().caPem,
      user: USER,
      pass: PASSWORD,
    };
    const logFile = scenario.globalLog ? join(logDir, `${scenario.name}.log`) : undefined;
    const outcome =
      runtime === 'node'
        ? await runInProcess(scenario, settings, logFile)
        : await runChild(runtime, scenario, settings, logDir, logFile);
    if (logFile !== undefined)
      outcome.globalLog = await readFile(logFile, 'utf8').catch(() => null);
    results.set(scenario.name, outcome);
  }
  return results;
}

async function runInProcess(
  scenario: Scenario,
  settings: ScenarioSettings,
  logFile: string | undefined,
): Promise<RunOutcome> {
  const saved = process.env.MAILWIRE_LOG;
  if (logFile === undefined) delete process.env.MAILWIRE_LOG;
  else process.env.MAILWIRE_LOG = logFile;
  try {
    const run = await runScenario(nodeAdapter, scenario, settings);
    return {
      exitCode: 0,
      stderr: '',
      output: JSON.stringify(run),
      result: run.result,
      entries: run.entries,
      globalLog: null,
    };
  } finally {
    if (saved === undefined) delete process.env.MAILWIRE_LOG;
    else process.env.MAILWIRE_LOG = saved;
  }
}

function runChild(
  runtime: Exclude<Runtime, 'node'>,
  scenario: Scenario,
  settings: ScenarioSettings,
  logDir: string,
  logFile: string | undefined,
): Promise<RunOutcome> {
  const scriptArgs = [
    'test/conformance/runner.ts',
    scenario.name,
    `--host=${settings.host}`,
    `--port=${settings.port}`,
    `--user=${settings.user}`,
  ];
  const variables = ['MAILWIRE_LOG', 'MAILWIRE_CONFORMANCE_CA', 'MAILWIRE_CONFORMANCE_PASS'];
  const binary = runtime === 'deno' ? DENO : BUN;
  const args =
    runtime === 'deno'
      ? [
          'run',
          '--no-prompt',
          '--config',
          'packages/deno/deno.json',
          `--allow-net=${HOST}`,
          `--allow-env=${variables.join(',')}`,
          `--allow-write=${logDir}`,
          ...scriptArgs,
        ]
      : ['run', ...scriptArgs];

  // Update checks and telemetry stay off to keep all traffic on 127.0.0.1.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MAILWIRE_CONFORMANCE_CA: settings.ca,
    MAILWIRE_CONFORMANCE_PASS: settings.pass,
    DENO_NO_UPDATE_CHECK: '1',
    DO_NOT_TRACK: '1',
    NO_COLOR: '1',
  };
  delete env.MAILWIRE_LOG;
  if (logFile !== undefined) env.MAILWIRE_LOG = logFile;

  return new Promise((resolveRun) => {
    const options = { cwd: ROOT, env, timeout: CHILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 };
    execFile(binary, args, options, (error, stdout, stderr) => {
      // A spawn failure such as a missing binary has a string code and counts as no exit code.
      let exitCode: number | null = 0;
      if (error) exitCode = typeof error.code === 'number' ? error.code : null;
      const spawnFailure = error && exitCode === null ? `${error.message}\n` : '';
      resolveRun({
        exitCode,
        stderr: spawnFailure + stderr,
        output: stdout + stderr,
        ...parseRunnerOutput(stdout),
        globalLog: null,
      });
    });
  });
}

/** Read the runner's JSON Lines: entries, then one result. Other lines are ignored. */
function parseRunnerOutput(stdout: string): Pick<RunOutcome, 'result' | 'entries'> {
  const entries: TranscriptEntry[] = [];
  let result: ScenarioResult | null = null;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const { type, ...record } = JSON.parse(line) as { type: string } & Record<string, unknown>;
    if (type === 'entry') entries.push(record as unknown as TranscriptEntry);
    if (type === 'result') result = record as unknown as ScenarioResult;
  }
  return { result, entries };
}

// ---- servers ---------------------------------------------------------------------------

async function startRuntimeServers(): Promise<RuntimeServers> {
  const users = { [USER]: PASSWORD };
  const rejectRecipients = (address: string) =>
    address === REJECTED_RECIPIENT ? '550 5.1.1 mailbox unknown' : null;

  const [starttls, implicitTls, hashing, silent, closing] = await Promise.all([
    startSmtpServer({ users, rejectRecipients }),
    startSmtpServer({ users, secure: true }),
    startHashingServer(),
    startSilentServer(),
    startClosingServer(),
  ]);
  return {
    ports: {
      starttls: starttls.port,
      'implicit-tls': implicitTls.port,
      hashing: hashing.port,
      silent: silent.port,
      closing: closing.port,
    },
    digests: hashing.digests,
    close: async () => {
      await Promise.all([starttls, implicitTls, hashing, silent, closing].map((s) => s.close()));
    },
  };
}

/** smtp-server without TLS or AUTH that keeps only the size and SHA-256 of each message. */
async function startHashingServer() {
  const digests: ReceivedDigest[] = [];
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    closeTimeout: 200,
    onData(stream, _session, callback) {
      const hash = createHash('sha256');
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
      });
      stream.on('end', () => {
        digests.push({ size, sha256: hash.digest('hex') });
        callback(null, 'OK: message hashed');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolveListen) => server.listen(0, HOST, () => resolveListen()));
  const { port } = server.server.address() as net.AddressInfo;
  const close = () => new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return { port, digests, close };
}

/**
 * Start a line server that accepts the envelope and DATA, then destroys the connection once
 * `CLOSE_AFTER_DATA_BYTES` of message data arrived. Unread bytes make the kernel send a
 * reset, so the client sees its writes fail in the middle of the message.
 */
async function startClosingServer() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.setTimeout(CLOSING_IDLE_MS, () => socket.destroy());
    socket.write('220 closing.example.test ESMTP\r\n');

    let buffered = '';
    let dataBytes: number | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (dataBytes !== null) {
        dataBytes += chunk.length;
        if (dataBytes >= CLOSE_AFTER_DATA_BYTES) socket.destroy();
        return;
      }
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const verb = buffered.slice(0, 4).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (verb === 'EHLO') socket.write('250-closing.example.test\r\n250 8BITMIME\r\n');
        else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else if (verb !== 'DATA') socket.write('250 2.0.0 ok\r\n');
        else {
          socket.write('354 end data with <CR><LF>.<CR><LF>\r\n');
          dataBytes = buffered.length;
          return;
        }
      }
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, HOST, () => resolveListen()));
  const { port } = server.address() as net.AddressInfo;
  const close = () =>
    new Promise<void>((resolveClose) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolveClose());
    });
  return { port, close };
}

function digestOf(chunks: Iterable<Uint8Array>): ReceivedDigest {
  const hash: Hash = createHash('sha256');
  let size = 0;
  for (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

// ---- normalisation ---------------------------------------------------------------------

const MARKERS: Record<TranscriptDirection, string> = { client: 'C >', server: 'S <', event: '###' };

/**
 * Format one transcript entry without what differs between runs: counter, time, process and
 * connection ids are dropped, and TLS details, ports, elapsed milliseconds and the EHLO
 * client name are replaced by fixed words.
 */
function normaliseEntry(entry: Pick<TranscriptEntry, 'direction' | 'text'>, ports: number[]) {
  let text = normaliseText(entry.text, ports);
  if (entry.direction === 'event' && text.startsWith('TLS started')) text = 'TLS started';
  if (entry.direction === 'client') text = text.replace(/^(EHLO|HELO|LHLO) .*/, '$1 <client-name>');

  const marker = MARKERS[entry.direction];
  return entry.direction === 'event'
    ? `${marker} ${escapeText(text, false)}`
    : `${marker} "${escapeText(text, true)}"`;
}

function normaliseText(text: string, ports: number[]): string {
  let result = text.replace(/\bafter \d+ ms\b/g, 'after <ms> ms');
  // NOTE: each runtime words a reset connection its own way, and which failure it notices first
  // (a failed write or a failed read) changes from run to run: Node says `read ECONNRESET`
  // or `write EPIPE`, Deno `Connection reset by peer (os error 104)`, Bun `Write failed:
  // the connection is closed`. Only the reason after the colon is replaced.
  result = result.replace(/^Connection error: .+/, 'Connection error: <reason>');
  for (const port of ports) result = result.replace(new RegExp(`\\b${port}\\b`, 'g'), '<port>');
  return result;
}

function normalisedTranscript(runtime: Runtime, scenario: string): string[] {
  const ports = portsByRuntime.get(runtime) ?? [];
  return outcomeOf(runtime, scenario).entries.map((entry) => normaliseEntry(entry, ports));
}

/** Return the result with its text normalised like the transcript, so runtimes compare equal. */
function normalisedResult(runtime: Runtime, scenario: string): unknown {
  const ports = portsByRuntime.get(runtime) ?? [];
  const result = outcomeOf(runtime, scenario).result;
  return JSON.parse(JSON.stringify(result), (_key, value) =>
    typeof value === 'string' ? normaliseText(value, ports) : value,
  );
}

function outcomeOf(runtime: Runtime, scenario: string): RunOutcome {
  const outcome = outcomes.get(runtime)?.get(scenario);
  if (outcome === undefined) throw new Error(`No run of ${scenario} on ${runtime}`);
  return outcome;
}

/** Diagnosis for a failed expectation: the runtime's stderr and its transcript. */
function describeRun(runtime: Runtime, scenario: string): string {
  const outcome = outcomeOf(runtime, scenario);
  const transcript = normalisedTranscript(runtime, scenario).join('\n');
  return `${runtime} ${scenario}\nstderr:\n${outcome.stderr}\ntranscript:\n${transcript}`;
}

// ---- tests -----------------------------------------------------------------------------

describe('runtime binaries', () => {
  it.each([
    ['deno', DENO],
    ['bun', BUN],
  ])('%s is installed', (_, binary) => {
    expect(existsSync(binary), `${binary} is missing; run npm install`).toBe(true);
  });
});

describe.each(SCENARIOS.map((scenario) => [scenario.name, scenario] as const))(
  'scenario %s',
  (name, scenario) => {
    it.each(RUNTIMES)('reaches the expected outcome on %s', (runtime) => {
      const outcome = outcomeOf(runtime, name);
      const diagnosis = describeRun(runtime, name);
      expect(outcome.exitCode, diagnosis).toBe(0);
      expect(outcome.result, diagnosis).not.toBeNull();

      const result = outcome.result!;
      const expected = scenario.expected;
      expect(result.ok, diagnosis).toBe(expected.sent);
      if (result.ok && expected.sent) {
        expect(result.value.accepted).toEqual(expected.accepted);
        expect(result.value.rejected.map((item) => item.recipient)).toEqual(expected.rejected);
      }
      if (!result.ok && !expected.sent) {
        expect(result.error.code, diagnosis).toBe(expected.code);
        expect(result.error.responseCode, diagnosis).toBe(expected.responseCode);
      }
    });

    it.each(RUNTIMES)('logs the expected lines in order on %s', (runtime) => {
      const transcript = normalisedTranscript(runtime, name);
      let from = 0;
      for (const prefix of scenario.transcriptIncludes) {
        const index = transcript.findIndex((line, i) => i >= from && line.startsWith(prefix));
        expect(
          index,
          `${prefix} after line ${from}\n${describeRun(runtime, name)}`,
        ).toBeGreaterThan(-1);
        from = index + 1;
      }
    });

    it.each(['deno', 'bun'] as const)('has the same transcript on %s as on node', (runtime) => {
      expect(normalisedTranscript(runtime, name)).toEqual(normalisedTranscript('node', name));
    });

    it.each(['deno', 'bun'] as const)('has the same result on %s as on node', (runtime) => {
      expect(normalisedResult(runtime, name)).toEqual(normalisedResult('node', name));
    });

    it.each(RUNTIMES)('prints no password on %s', (runtime) => {
      const output = outcomeOf(runtime, name).output;
      const secrets = [PASSWORD, btoa(PASSWORD), btoa(`\0${USER}\0${PASSWORD}`)];
      for (const secret of secrets) expect(output).not.toContain(secret);
    });
  },
);

describe('large message', () => {
  it('is generated with the exact size and many dotted lines', () => {
    const text = new TextDecoder().decode(generatedMessageChunks(64 * 1024).next().value);
    const dotted = text.split('\r\n').filter((line) => line.startsWith('.'));

    expect(expectedLargeDigest.size).toBe(LARGE_MESSAGE_BYTES);
    expect(dotted.length).toBeGreaterThan(100);
    expect(dotted).toContain('.');
  });

  it.each(RUNTIMES)('reaches the server unchanged from %s', (runtime) => {
    expect(digestsByRuntime.get(runtime)).toEqual([expectedLargeDigest]);
  });
});

describe('global log switch', () => {
  it.each(RUNTIMES)('writes the session from %s to MAILWIRE_LOG', (runtime) => {
    const outcome = outcomeOf(runtime, 'global-log');
    expect(outcome.globalLog, describeRun(runtime, 'global-log')).not.toBeNull();

    const ports = portsByRuntime.get(runtime) ?? [];
    const lines = outcome.globalLog!.split('\n').filter((line) => line !== '');
    const parsed = lines.map((line) => parseTextLine(line));
    expect(parsed.every((entry) => entry !== null)).toBe(true);
    const logged = parsed.map((entry) => normaliseEntry(entry!, ports));
    expect(logged).toEqual(normalisedTranscript(runtime, 'global-log'));
    expect(parsed.map((entry) => entry!.counter)).toEqual(lines.map((_, index) => index + 1));
  });
});
