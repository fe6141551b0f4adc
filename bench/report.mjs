/**
 * Turns the runner's results into Markdown: the machine, one table per benchmark, and each
 * target with the measured ratio. MB means 10^6 bytes everywhere, RSS included.
 */

const MB = 1e6;

const round = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

const MiB = 1024 * 1024;

function rate(entry) {
  return entry.settings.count / entry.seconds;
}

function cpuPerMessage(entry) {
  return entry.cpuMicros / entry.settings.count;
}

function largeRate(entry) {
  return entry.messageBytes / MB / entry.seconds;
}

function largePerCpu(entry) {
  return entry.messageBytes / MB / (entry.cpuMicros / 1e6);
}

function rssMB(entry) {
  return entry.maxRssKiB === null || entry.maxRssKiB === undefined
    ? null
    : (entry.maxRssKiB * 1024) / MB;
}

function smallTable(entries) {
  const rows = [
    '| client | runtime | connections | pool | text log | messages | msg/s | msg/s range | client CPU µs/msg | connections opened | result |',
    '| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const entry of entries) {
    const { settings } = entry;
    const pool = settings.pool === false ? 'no' : 'yes';
    const log = settings.logDir ? 'on' : 'off';
    const head = `| ${settings.client} | ${entry.runtime} | ${settings.connections} | ${pool} | ${log} | ${settings.count}`;
    if (entry.failed) {
      rows.push(`${head} | | | | | failed: ${entry.failed} |`);
      continue;
    }
    const { count } = settings;
    const range = `${round(count / entry.spread.slowest)}–${round(count / entry.spread.fastest)}`;
    rows.push(
      `${head} | ${round(rate(entry))} | ${range} | ${round(cpuPerMessage(entry))} | ${entry.connectionsOpened} | complete |`,
    );
  }
  return rows.join('\n');
}

function largeTable(entries) {
  const rows = [
    '| client | runtime | warm-up MiB | size MiB | MB/s | MB per CPU-second | peak RSS MB | result |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const entry of entries) {
    const { client, warmupBytes, bytes } = entry.settings;
    const head = `| ${client} | ${entry.runtime} | ${warmupBytes / MiB} | ${bytes / MiB}`;
    if (entry.failed) {
      rows.push(`${head} | | | | failed: ${entry.failed} |`);
      continue;
    }
    rows.push(
      `${head} | ${round(largeRate(entry))} | ${round(largePerCpu(entry))} | ${round(rssMB(entry), 1)} | complete |`,
    );
  }
  return rows.join('\n');
}

/** Find the successful entry that matches every setting in `filter`, on Node unless stated. */
function pick(entries, filter) {
  return entries.find((entry) => {
    if (entry.failed) return false;
    if ((filter.runtime ?? 'node') !== entry.runtime) return false;
    const { settings } = entry;
    if (filter.client !== settings.client) return false;
    if (filter.connections !== undefined && filter.connections !== settings.connections) {
      return false;
    }
    if (filter.bytes !== undefined && filter.bytes !== settings.bytes) return false;
    if (filter.warmup !== undefined && filter.warmup !== settings.warmupBytes) return false;
    if (filter.log !== undefined && filter.log !== Boolean(settings.logDir)) return false;
    return (settings.pool !== false) === (filter.pool ?? true);
  });
}

function targetRows(results) {
  const rows = [];
  const add = (name, value, goal, pass) => {
    let verdict = pass ? 'met' : 'missed';
    if (value === null) verdict = 'not measured';
    else if (goal === 'none') verdict = 'for comparison';
    rows.push(`| ${name} | ${value === null ? 'n/a' : value} | ${goal} | ${verdict} |`);
  };
  const both = (a, b, compute) => (a && b ? compute(a, b) : null);

  const small = results.small;
  const mailwireLog = pick(small, { client: 'mailwire', connections: 1, log: true });
  const nodemailer = pick(small, { client: 'nodemailer', connections: 1 });
  const limit = pick(small, { client: 'pipelined', connections: 1 });

  const overNodemailer = both(mailwireLog, nodemailer, (a, b) => rate(a) / rate(b));
  add(
    '1 connection, text log on: msg/s vs nodemailer (pool, 1 connection)',
    round(overNodemailer, 2),
    '≥ 5',
    overNodemailer >= 5,
  );
  const overLimit = both(mailwireLog, limit, (a, b) => rate(a) / rate(b));
  add(
    '1 connection, text log on: msg/s vs pipelined limit',
    round(overLimit, 2),
    '≥ 0.6',
    overLimit >= 0.6,
  );
  const lockstep = pick(small, { client: 'lockstep', connections: 1 });
  const overLockstep = both(mailwireLog, lockstep, (a, b) => rate(a) / rate(b));
  add(
    '(reference) 1 connection, text log on: msg/s vs lock-step limit',
    round(overLockstep, 2),
    'none',
    true,
  );
  const cpuRatio = both(mailwireLog, limit, (a, b) => cpuPerMessage(a) / cpuPerMessage(b));
  add(
    '1 connection, text log on: client CPU per message vs limit client',
    round(cpuRatio, 2),
    '≤ 2',
    cpuRatio <= 2,
  );
  for (const connections of [1, 4]) {
    const on = pick(small, { client: 'mailwire', connections, log: true });
    const off = pick(small, { client: 'mailwire', connections, log: false });
    const cost = both(on, off, (a, b) => 1 - rate(a) / rate(b));
    const costText = cost === null ? null : `${round(cost * 100, 1)} %`;
    add(
      `text log cost in msg/s, ${connections} connection${connections > 1 ? 's' : ''}`,
      costText,
      '≤ 5 %',
      cost <= 0.05,
    );
  }

  const large = results.large;
  const hundred = 100 * MiB;
  const warmups = [...new Set(large.map((entry) => entry.settings.warmupBytes))].sort(
    (a, b) => a - b,
  );
  for (const warmup of warmups) {
    const after = `after ${warmup / MiB} MiB`;
    const mailwire100 = pick(large, { client: 'mailwire', bytes: hundred, warmup });
    const limit100 = pick(large, { client: 'pipelined', bytes: hundred, warmup });
    const overLimit100 = both(mailwire100, limit100, (a, b) => largeRate(a) / largeRate(b));
    add(
      `100 MiB ${after}: MB/s vs pipelined limit`,
      round(overLimit100, 2),
      '≥ 0.95',
      overLimit100 >= 0.95,
    );
    const perCpu = mailwire100 ? largePerCpu(mailwire100) : null;
    add(`100 MiB ${after}: MB per CPU-second`, round(perCpu), '≥ 500', perCpu >= 500);
    const rss100 = mailwire100 ? rssMB(mailwire100) : null;
    add(`100 MiB ${after}: peak RSS MB`, round(rss100, 1), '< 64', rss100 !== null && rss100 < 64);

    const sizes = large.filter(
      (entry) =>
        !entry.failed &&
        entry.settings.client === 'mailwire' &&
        entry.runtime === 'node' &&
        entry.settings.warmupBytes === warmup,
    );
    const smallest = sizes.find((entry) => entry.settings.bytes === 10 * MiB);
    const largest = sizes.reduce(
      (best, entry) => (!best || entry.settings.bytes > best.settings.bytes ? entry : best),
      null,
    );
    const growth = both(largest, smallest, (a, b) => rssMB(a) / rssMB(b) - 1);
    add(
      `peak RSS growth from 10 MiB to ${largest ? largest.settings.bytes / MiB : '?'} MiB, ${after}`,
      growth === null ? null : `${round(growth * 100, 1)} %`,
      '≤ 10 %',
      growth !== null && Math.abs(growth) <= 0.1,
    );
  }

  for (const runtime of ['deno', 'bun']) {
    const other = pick(small, { client: 'mailwire', connections: 1, log: true, runtime });
    const ratio = both(other, mailwireLog, (a, b) => cpuPerMessage(a) / cpuPerMessage(b));
    add(
      `${runtime === 'deno' ? 'Deno' : 'Bun'}, 1 connection, text log on: client CPU per message vs Node`,
      round(ratio, 2),
      '≤ 1.25',
      ratio !== null && ratio <= 1.25,
    );
  }

  const encoder = results.core?.encoderCrlf?.mbPerSecond ?? null;
  add('DataEncoder dot-stuffing, CRLF input, MB/s', round(encoder), '≥ 1000', encoder >= 1000);

  return ['| target | measured | goal | verdict |', '| --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

function coreSection(core) {
  if (!core) return 'Not run.';
  if (core.failed) return `Failed: ${core.failed}`;
  return [
    '| case | input | result |',
    '| --- | ---: | ---: |',
    `| DataEncoder, CRLF lines, one in six starting with \`.\` | ${round(core.encoderCrlf.inputMB)} MB | ${round(core.encoderCrlf.mbPerSecond)} MB/s |`,
    `| DataEncoder, bare LF lines (a CR added to every line) | ${round(core.encoderLf.inputMB)} MB | ${round(core.encoderLf.mbPerSecond)} MB/s |`,
    `| ReplyParser, pipelined replies in 16 KiB reads | ${core.parser.lines} lines | ${round(core.parser.linesPerSecond / 1e6, 2)} M lines/s |`,
  ].join('\n');
}

/** Render the whole report. */
export function formatReport(results, machine, { command, config, unpooledCount, serverWarmup }) {
  const skipped = Object.entries(results.skipped).map(
    ([name, reason]) => `- ${name}: not measured. ${reason.replaceAll('\n', ' ')}`,
  );
  const lines = [
    `Command: \`${command}\`, finished ${new Date().toISOString()}.`,
    '',
    `Machine: ${machine.cores} cores (nproc), ${machine.model}, Node ${machine.node}` +
      `${machine.deno ? `, ${machine.deno}` : ''}${machine.bun ? `, Bun ${machine.bun}` : ''}. ` +
      (machine.pinned
        ? 'Clients pinned to core 0, server to core 1 with taskset. '
        : 'No CPU pinning. ') +
      `Peak RSS from ${machine.timeTool ? '`/usr/bin/time -v`' : '`process.resourceUsage().maxRSS`'}. ` +
      `Load average (1 min) ${round(machine.load.before, 2)} before, ${round(machine.load.after, 2)} after.`,
    '',
    `The server first receives ${serverWarmup} messages from the pipelined client on one ` +
      'connection and as many on four, unmeasured, so that its code is compiled before any run.',
    '',
    `Small messages: ${config.count} timed messages of about 2 KB after ${config.warmup} untimed ` +
      `warm-up messages; the median of ${config.repeats} run${config.repeats > 1 ? 's' : ''} by wall time, and the range over all runs` +
      (unpooledCount > 0 ? `; runs without a pool send ${unpooledCount}` : '') +
      '. "connections opened" counts the warm-up connections too. `pipelined` is the ceiling ' +
      'client (no waiting at all); `lockstep` is the least a client needs that waits for the ' +
      '354 and for the final reply of each message, as mailwire and nodemailer do.',
    '',
    smallTable(results.small),
    '',
    'Large message: one message streamed in 64 KiB chunks, one in six lines starting with `.`, ' +
      `after an untimed warm-up message on the same connection or transporter (${config.largeWarmupsMiB.join(' or ')} MiB, ` +
      `see the warm-up column); 100 MiB is the median of ${config.largeRepeats} runs. Peak RSS covers ` +
      'the whole process, warm-up included.',
    '',
    largeTable(results.large),
    '',
    'Core alone, no sockets, per CPU-second of the process (best of 5 rounds):',
    '',
    coreSection(results.core),
    '',
    'Targets (Node unless named, same run):',
    '',
    targetRows(results),
  ];
  if (skipped.length > 0) lines.push('', ...skipped);
  return lines.join('\n');
}
