/**
 * One self-contained HTML page for a transcript: per connection a timeline of each command
 * and its reply with the time each took, and the diagnosis of `explain`. Inline CSS only and a
 * Content-Security-Policy that forbids loading anything. Every text from the log passes
 * through `escapeHtml`; masked secrets stay masked because the page only copies the log.
 */
import type { Connection, Step } from './conversation.js';
import type { ConnectionReport, Finding } from './diagnosis.js';
import { REPORT_CSS } from './html-style.js';
import { formatLineNumbers } from './narrative.js';
import type { CodeMeaning } from './reply-codes.js';
import type { LogLine, TranscriptFile } from './transcript-reader.js';

/** One connection with its analysis. */
export interface AnalysedConnection {
  connection: Connection;
  report: ConnectionReport;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** Make control characters visible, as the text format writes them. */
function visible(text: string): string {
  return escapeHtml(
    text.replace(
      /[\x00-\x1f\x7f]/g,
      (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`,
    ),
  );
}

/** Render the whole page. */
export function renderHtmlReport(
  title: string,
  file: TranscriptFile,
  connections: AnalysedConnection[],
): string {
  const body = [
    '<header>',
    '<h1>SMTP transcript report</h1>',
    `<p class="meta">${escapeHtml(title)} · ${connections.length} ` +
      `connection${connections.length === 1 ? '' : 's'} · ${file.lineCount} lines · ` +
      `${escapeHtml(file.format)} format</p>`,
    '</header>',
    '<main>',
    renderSummary(connections),
    renderReadWarnings(file),
    ...connections.map(renderConnection),
    '</main>',
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ` +
      `'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>SMTP transcript: ${escapeHtml(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function renderSummary(connections: AnalysedConnection[]): string {
  const rows = connections.map(({ report }) => {
    const where = report.host === null ? '' : `${report.host}:${report.port ?? '?'}`;
    const finding = report.failure ?? report.warnings[0];
    return (
      `<tr><td><a href="#connection-${report.id}">Connection ${report.id}</a></td>` +
      `<td>${escapeHtml(where)}</td><td>${report.firstLine}-${report.lastLine}</td>` +
      `<td><span class="badge ${report.outcome}">${escapeHtml(report.headline)}</span></td>` +
      `<td>${escapeHtml(finding?.diagnosis.summary ?? '')}</td></tr>`
    );
  });
  const head =
    '<tr><th>Connection</th><th>Server</th><th>Lines</th><th>Outcome</th><th>Diagnosis</th></tr>';
  return `<table class="summary"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderReadWarnings(file: TranscriptFile): string {
  if (file.warnings.length === 0) return '';
  const items = file.warnings.map(
    (warning) => `<li>line ${warning.line}: ${visible(warning.message)}</li>`,
  );
  if (file.omittedWarnings > 0) items.push(`<li>… and ${file.omittedWarnings} more</li>`);
  return (
    `<details class="repairs"><summary>${file.warnings.length + file.omittedWarnings} ` +
    `repairs while reading a damaged log</summary><ul>${items.join('')}</ul></details>`
  );
}

function renderConnection({ connection, report }: AnalysedConnection): string {
  const facts = [
    report.host === null ? null : `${report.host} port ${report.port ?? '?'}`,
    tlsModeOf(connection),
    report.processIds.length > 0 ? `process ${report.processIds.join(', ')}` : null,
    `lines ${report.firstLine}-${report.lastLine}`,
  ].filter((fact): fact is string => fact !== null);
  return [
    `<section class="connection ${report.outcome}" id="connection-${report.id}">`,
    `<h2>Connection ${report.id} <span class="badge ` +
      `${report.outcome}">${escapeHtml(report.headline)}</span></h2>`,
    `<p class="meta">${escapeHtml(facts.join(' · '))}</p>`,
    report.failure ? renderFinding(report.failure, 'failure') : '',
    ...report.warnings.map((warning) => renderFinding(warning, 'warning')),
    renderTimeline(connection, report),
    '</section>',
  ].join('\n');
}

function renderFinding(finding: Finding, kind: 'failure' | 'warning'): string {
  const heading = kind === 'failure' ? 'Failed step' : 'Warning';
  const codes: string[] = [];
  if (finding.replyCode !== null && finding.replyMeaning) {
    codes.push(codeRow(`Reply code ${finding.replyCode}`, finding.replyMeaning));
  }
  if (finding.enhancedCode !== null && finding.enhancedMeaning) {
    codes.push(codeRow(`Enhanced code ${finding.enhancedCode}`, finding.enhancedMeaning));
  }
  const list = (items: string[]) =>
    `<ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
  return [
    `<div class="diagnosis ${kind}">`,
    `<h3>${heading}: <code>${visible(finding.command ?? finding.stepName)}</code> <span ` +
      `class="lines">lines ${formatLineNumbers(finding.lines)}</span></h3>`,
    `<p class="verdict">${escapeHtml(finding.diagnosis.summary)}</p>`,
    `<pre class="reply">${finding.reply.map(visible).join('\n')}</pre>`,
    codes.length > 0 ? `<dl>${codes.join('')}</dl>` : '',
    `<div class="advice"><div><h4>Likely causes</h4>${list(finding.diagnosis.causes)}</div>`,
    `<div><h4>What to try next</h4>${list(finding.diagnosis.nextSteps)}</div></div>`,
    `<p class="rule">rule: ${escapeHtml(finding.diagnosis.id)}</p>`,
    '</div>',
  ].join('\n');
}

function codeRow(label: string, meaning: CodeMeaning): string {
  const source = `<span class="source">(${escapeHtml(meaning.source)})</span>`;
  return `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(meaning.meaning)} ${source}</dd>`;
}

function renderTimeline(connection: Connection, report: ConnectionReport): string {
  const failedLines = new Set(report.failure?.lines ?? []);
  const rows = connection.timeline.map((item) =>
    item.kind === 'event'
      ? renderEvent(item.line, connection, failedLines)
      : renderStep(item.step, connection, failedLines),
  );
  return [
    '<div class="timeline">',
    '<div class="row ' +
      'head"><div>Line</div><div>Time</div><div>Took</div><div>Client</div><div>Server</div></div>',
    ...rows,
    '</div>',
  ].join('\n');
}

function renderStep(step: Step, connection: Connection, failedLines: Set<number>): string {
  const reply = step.reply;
  const code = reply?.code ?? null;
  const classes = ['row', 'step'];
  if (code !== null && code >= 400) classes.push(code >= 500 ? 'error' : 'deferred');
  const lines = [step.command?.line, ...(reply?.lines ?? []).map((line) => line.line)].filter(
    (line): line is number => line !== undefined,
  );
  if (lines.some((line) => failedLines.has(line))) classes.push('failed');

  const client = step.command
    ? `<code>${visible(step.command.text)}</code>`
    : step.verb === '.'
      ? '<span class="note">message data</span>'
      : `<span class="note">${step.verb === 'GREETING' ? 'connected' : 'no command'}</span>`;
  const body = step.body.length > 0 ? renderBody(step.body) : '';
  const server = reply
    ? reply.lines.map((line) => `<code>${visible(line.text)}</code>`).join('')
    : '<span class="note">no reply in the log</span>';
  return (
    `<div class="${classes.join(' ')}"><div class="line-no">${formatLineNumbers(lines)}</div>` +
    `<div class="when">${offset(step.startedAt ?? step.command?.time ?? null, connection)}</div>` +
    `<div class="took">${step.durationMs === null ? '' : `${step.durationMs} ms`}</div>` +
    `<div class="client">${client}${body}</div><div class="server">${server}</div></div>`
  );
}

function renderBody(body: LogLine[]): string {
  const text = body.map((line) => visible(line.text)).join('\n');
  return (
    `<details><summary>${body.length} message line${body.length === 1 ? '' : 's'} ` +
    `logged</summary><pre>${text}</pre></details>`
  );
}

function renderEvent(line: LogLine, connection: Connection, failedLines: Set<number>): string {
  const failed = failedLines.has(line.line) ? ' failed' : '';
  const error = /timed out|failed|^Connection error|rejected before connecting/i.test(line.text)
    ? ' error'
    : '';
  return (
    `<div class="row event${error}${failed}"><div class="line-no">${line.line}</div>` +
    `<div class="when">${offset(line.time, connection)}</div><div class="took"></div>` +
    `<div class="event-text">### ${visible(line.text)}</div></div>`
  );
}

/** Seconds since the connection's first line, as `+1.234 s`. */
function offset(time: number | null, connection: Connection): string {
  if (time === null || connection.startedAt === null) return '';
  return `+${((time - connection.startedAt) / 1000).toFixed(3)} s`;
}

function tlsModeOf(connection: Connection): string {
  if (connection.implicitTls) return 'implicit TLS';
  if (connection.tls) return 'STARTTLS';
  return 'no TLS';
}
