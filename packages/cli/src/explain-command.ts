/**
 * `mailwire explain FILE`: reads a transcript, even a damaged one, and prints per connection
 * what happened, the step that failed, what its codes mean, the likely causes and what to
 * try next, citing line numbers of the file. `--json` prints the same analysis as data.
 */
import { readFile } from 'node:fs/promises';
import {
  analyseTranscript,
  type ConnectionReport,
  type Finding,
  type TranscriptReport,
} from './diagnosis.js';
import { formatLineNumbers } from './narrative.js';
import {
  colourEnabled,
  createPalette,
  EXIT,
  InputError,
  messageOf,
  type Palette,
} from './terminal.js';
import { readTranscript, type TranscriptFile } from './transcript-reader.js';

export interface ExplainFlags {
  json?: boolean;
}

/** Read a transcript file; input errors name the file and the expected format. */
export async function loadTranscript(path: string): Promise<TranscriptFile> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `Cannot read ${path}: ${code === 'ENOENT' ? 'file not found' : messageOf(error)}`,
    );
  }
  const file = readTranscript(content);
  if (file.records.length === 0) {
    throw new InputError(
      `No transcript lines in ${path}: expected lines such as ` +
        '`3 2026-12-04T15:03:12.143 4182 1 C > "EHLO [127.0.0.1]"` or JSON Lines',
    );
  }
  return file;
}

/** Run `explain`; returns the exit status. */
export async function runExplain(path: string, flags: ExplainFlags): Promise<number> {
  const report = analyseTranscript(await loadTranscript(path));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ file: path, ...report }, null, 2)}\n`);
  } else {
    const palette = createPalette(colourEnabled(process.stdout));
    process.stdout.write(renderReport(path, report, palette));
  }
  return EXIT.ok;
}

/** Render the analysis as text for a terminal. */
export function renderReport(path: string, report: TranscriptReport, palette: Palette): string {
  const out: string[] = [];
  const count = report.connections.length;
  out.push(
    palette.bold(
      `${path}: ${count} connection${count === 1 ? '' : 's'} in ${report.lineCount} lines ` +
        `(${report.format} format)`,
    ),
  );
  if (report.readWarnings.length > 0) {
    out.push(
      palette.yellow(
        `Repairs while reading (${report.readWarnings.length + report.omittedReadWarnings}):`,
      ),
    );
    for (const warning of report.readWarnings)
      out.push(`  line ${warning.line}: ${warning.message}`);
    if (report.omittedReadWarnings > 0) out.push(`  … and ${report.omittedReadWarnings} more`);
  }
  for (const connection of report.connections) {
    out.push('', ...renderConnection(connection, palette));
  }
  return `${out.join('\n')}\n`;
}

/** Marker in front of each sentence of the narrative, by level. */
const MARKERS = { ok: '·', info: '·', warning: '!', error: '✗' } as const;

const OUTCOME_STYLES: Record<ConnectionReport['outcome'], keyof Palette> = {
  sent: 'green',
  partial: 'yellow',
  failed: 'red',
  'no-mail': 'cyan',
  incomplete: 'yellow',
};

function renderConnection(connection: ConnectionReport, palette: Palette): string[] {
  const processes =
    connection.processIds.length > 0 ? ` (process ${connection.processIds.join(', ')})` : '';
  const lines = `lines ${connection.firstLine}-${connection.lastLine}`;
  const title = `Connection ${connection.id}${processes}, ${lines}: `;
  const out = [
    palette.bold(title) + palette[OUTCOME_STYLES[connection.outcome]](connection.headline),
  ];

  out.push('  What happened (line numbers of the file on the left)');
  const width = Math.max(
    ...connection.happenings.map((item) => formatLineNumbers(item.lines).length),
    4,
  );
  for (const happening of connection.happenings) {
    const lines = formatLineNumbers(happening.lines).padEnd(width);
    const style = { ok: 'green', info: 'dim', warning: 'yellow', error: 'red' } as const;
    const marker = palette[style[happening.level]](MARKERS[happening.level]);
    out.push(`    ${palette.dim(lines)} ${marker} ${happening.text}`);
  }

  if (connection.failure)
    out.push(...renderFinding('Failed step', connection.failure, palette, 'red'));
  for (const warning of connection.warnings)
    out.push(...renderFinding('Warning', warning, palette, 'yellow'));
  return out;
}

function renderFinding(
  heading: string,
  finding: Finding,
  palette: Palette,
  colour: 'red' | 'yellow',
): string[] {
  const out: string[] = [];
  const what = finding.command ?? finding.stepName;
  out.push(
    palette[colour](palette.bold(`  ${heading}: ${what}`)) +
      palette.dim(` (${linesLabel(finding.lines)})`),
  );
  for (const line of finding.reply)
    out.push(`    ${palette.dim(finding.replyCode === null ? '###' : 'S <')} ${line}`);
  if (finding.replyCode !== null && finding.replyMeaning) {
    out.push(
      `  Reply code ${finding.replyCode}: ${finding.replyMeaning.meaning} ` +
        `(${finding.replyMeaning.source})`,
    );
  }
  if (finding.enhancedCode !== null && finding.enhancedMeaning) {
    out.push(
      `  Enhanced code ${finding.enhancedCode}: ${finding.enhancedMeaning.meaning} ` +
        `(${finding.enhancedMeaning.source})`,
    );
  }
  out.push(
    `  ${palette.bold('Diagnosis:')} ${finding.diagnosis.summary} ` +
      `${palette.dim(`[${finding.diagnosis.id}]`)}`,
  );
  out.push('  Likely causes');
  for (const cause of finding.diagnosis.causes) out.push(`    - ${cause}`);
  out.push('  What to try next');
  for (const step of finding.diagnosis.nextSteps) out.push(`    - ${step}`);
  return out;
}

/** `line 4` or `lines 4-6, 9`. */
export function linesLabel(lines: readonly number[]): string {
  return `${lines.length === 1 ? 'line' : 'lines'} ${formatLineNumbers(lines)}`;
}
