/**
 * One benchmark run in its own process: `node bench/client.mjs '<json>'` (or the same file
 * under `deno run -A` or `bun`). The JSON names the client (`mailwire`, `nodemailer`,
 * `pipelined` or `lockstep`), the scenario (`small` or `large`) and its settings. The
 * process prints one JSON line with the wall time, its own CPU time and its peak RSS.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { Readable } from 'node:stream';
import {
  largeMessageChunks,
  largeMessagePlan,
  RECIPIENT,
  SENDER,
  smallMessage,
} from './messages.mjs';

const settings = JSON.parse(process.argv[2]);
let runtime = 'node';
if (globalThis.Deno) runtime = 'deno';
else if (globalThis.Bun) runtime = 'bun';
const envelope = { from: SENDER, to: [RECIPIENT] };

/** Run `task(index)` for every index below `count`, with at most `window` running at once. */
async function runWindow(count, window, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
}

function checkAccepted(result) {
  if (result.accepted.length !== 1)
    throw new Error(`Recipient not accepted: ${JSON.stringify(result)}`);
}

// ---- mailwire ---------------------------------------------------------------------------

async function loadMailwire() {
  return import(`@mailwire/${runtime}`);
}

/**
 * A mailwire transporter, pooled when the installed version accepts `pool`. Without that
 * option every `send` opens its own connection, so the caller keeps `connections` sends in
 * flight to get the same number of connections open at once.
 */
function createMailwire(mailwire, { port, connections, logFile, pool }) {
  const base = { host: '127.0.0.1', port, secure: false };
  if (logFile) Object.assign(base, { logFile, logFormat: 'text' });
  if (!pool) return { transporter: mailwire.createTransporter(base), pooled: false };
  try {
    // mailwire takes a whole number for maxMessages; this one is never reached in a run.
    const maxMessages = Number.MAX_SAFE_INTEGER;
    const pooled = { ...base, pool: true, maxConnections: connections, maxMessages };
    return { transporter: mailwire.createTransporter(pooled), pooled: true };
  } catch (error) {
    if (!/Unknown option pool/.test(String(error?.message))) throw error;
    return { transporter: mailwire.createTransporter(base), pooled: false };
  }
}

async function mailwireSmall(messages, options, measure) {
  const mailwire = await loadMailwire();
  const warm = createMailwire(mailwire, {
    ...options,
    logFile: options.logFile && `${options.logFile}.warmup`,
  });
  await sendAllMailwire(warm, messages.slice(0, options.warmup), options.connections);
  await warm.transporter.close();

  const created = createMailwire(mailwire, options);
  const result = await measure(async () => {
    await sendAllMailwire(created, messages.slice(options.warmup), options.connections);
    await created.transporter.close();
  });
  result.pooled = created.pooled;
  if (options.logFile) result.logBytes = statSync(options.logFile).size;
  return result;
}

async function sendAllMailwire({ transporter, pooled }, messages, connections) {
  const window = pooled ? connections * 4 : connections;
  await runWindow(messages.length, window, async (index) => {
    checkAccepted(await transporter.send({ envelope, raw: messages[index] }));
  });
}

async function mailwireLarge(plan, warmupPlan, measure) {
  const mailwire = await loadMailwire();
  const transporter = mailwire.createTransporter({ host: '127.0.0.1', port: settings.port });
  if (warmupPlan) {
    checkAccepted(await transporter.send({ envelope, raw: largeMessageChunks(warmupPlan) }));
  }
  return measure(async () => {
    checkAccepted(await transporter.send({ envelope, raw: largeMessageChunks(plan) }));
    await transporter.close();
  });
}

// ---- nodemailer -------------------------------------------------------------------------

/** Create a nodemailer transport; without `pool` every message gets its own connection. */
async function createNodemailer(connections, pool) {
  const { default: nodemailer } = await import('nodemailer');
  const options = { host: '127.0.0.1', port: settings.port, secure: false, ignoreTLS: true };
  if (pool) {
    Object.assign(options, {
      pool,
      maxConnections: connections,
      maxMessages: Number.POSITIVE_INFINITY,
    });
  }
  return nodemailer.createTransport({ ...options, logger: false });
}

async function nodemailerSmall(messages, options, measure) {
  const window = options.pool ? options.connections * 4 : options.connections;
  const sendAll = (transport, list) =>
    runWindow(list.length, window, async (index) => {
      checkAccepted(await transport.sendMail({ envelope, raw: list[index] }));
    });
  const warm = await createNodemailer(options.connections, options.pool);
  await sendAll(warm, messages.slice(0, options.warmup));
  warm.close();

  const transport = await createNodemailer(options.connections, options.pool);
  const result = await measure(async () => {
    await sendAll(transport, messages.slice(options.warmup));
    transport.close();
  });
  result.pooled = options.pool;
  return result;
}

async function nodemailerLarge(plan, warmupPlan, measure) {
  const transport = await createNodemailer(1, true);
  if (warmupPlan) {
    const raw = Readable.from(largeMessageChunks(warmupPlan), { objectMode: false });
    checkAccepted(await transport.sendMail({ envelope, raw }));
  }
  return measure(async () => {
    const raw = Readable.from(largeMessageChunks(plan), { objectMode: false });
    checkAccepted(await transport.sendMail({ envelope, raw }));
    transport.close();
  });
}

// ---- pipelined ceiling ------------------------------------------------------------------

async function pipelinedSmallRun(messages, options, measure) {
  const { pipelinedSmall } = await import('./pipelined.mjs');
  const lockstep = settings.client === 'lockstep';
  const { port } = settings;
  await pipelinedSmall(port, messages.slice(0, options.warmup), options.connections, lockstep);
  const result = await measure(() =>
    pipelinedSmall(port, messages.slice(options.warmup), options.connections, lockstep),
  );
  result.pooled = true;
  return result;
}

async function pipelinedLargeRun(plan, warmupPlan, measure) {
  const { pipelinedLarge } = await import('./pipelined.mjs');
  if (warmupPlan) await pipelinedLarge(settings.port, warmupPlan);
  return measure(() => pipelinedLarge(settings.port, plan));
}

// ---- main -------------------------------------------------------------------------------

/** Time `work` and take the CPU time this process spent on it. */
async function measure(work) {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { seconds, cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system };
}

function peakRssKiB() {
  try {
    // Node and Bun report kibibytes.
    return process.resourceUsage().maxRSS;
  } catch {
    return null;
  }
}

async function main() {
  const { client, scenario } = settings;
  let result;
  if (scenario === 'small') {
    const total = settings.count + settings.warmup;
    const messages = Array.from({ length: total }, (_, index) =>
      smallMessage(index, settings.size),
    );
    const options = {
      port: settings.port,
      connections: settings.connections,
      warmup: settings.warmup,
      pool: settings.pool !== false,
      logFile: settings.logDir ? join(settings.logDir, `${client}-${runtime}.log`) : undefined,
    };
    const runner = {
      mailwire: mailwireSmall,
      nodemailer: nodemailerSmall,
      pipelined: pipelinedSmallRun,
      lockstep: pipelinedSmallRun,
    };
    result = await runner[client](messages, options, measure);
    result.messageBytes = messages
      .slice(settings.warmup)
      .reduce((sum, text) => sum + text.length, 0);
  } else {
    const plan = largeMessagePlan(settings.bytes);
    // An untimed smaller message first, so that the timed one runs compiled code.
    const warmupPlan = settings.warmupBytes > 0 ? largeMessagePlan(settings.warmupBytes) : null;
    const runner = {
      mailwire: mailwireLarge,
      nodemailer: nodemailerLarge,
      pipelined: pipelinedLargeRun,
    };
    result = await runner[client](plan, warmupPlan, measure);
    result.messageBytes = plan.bytes;
  }
  result.runtime = runtime;
  result.maxRssKiB = peakRssKiB();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
