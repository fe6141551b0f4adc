/**
 * `mailwire view FILE -o report.html`: writes the HTML report of a transcript. The page is
 * one file with no external resources, so it can be mailed or attached to a ticket.
 */
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { splitConnections } from './conversation.js';
import { analyseConnection } from './diagnosis.js';
import { loadTranscript } from './explain-command.js';
import { renderHtmlReport } from './html-report.js';
import { EXIT, InputError, messageOf } from './terminal.js';

export interface ViewFlags {
  output: string;
}

/** Define the `view` subcommand on a program. */
export function defineViewCommand(program: Command): void {
  program
    .command('view')
    .description('write a self-contained HTML report of a transcript: timeline and diagnosis')
    .argument('<file>', 'transcript file, text format or JSON Lines')
    .requiredOption('-o, --output <file>', 'HTML file to write (required; replaced if it exists)')
    .addHelpText('after', '\nExit status: 0 the report was written, 2 the input could not be read.')
    .action(async (file: string, flags: ViewFlags) => {
      process.exitCode = await runView(file, flags);
    });
}

/** Run `view`; returns the exit status. */
export async function runView(path: string, flags: ViewFlags): Promise<number> {
  const file = await loadTranscript(path);
  const connections = splitConnections(file.records).map((connection) => ({
    connection,
    report: analyseConnection(connection),
  }));
  const html = renderHtmlReport(basename(path), file, connections);
  try {
    await writeFile(flags.output, html, 'utf8');
  } catch (error) {
    throw new InputError(`Cannot write --output ${flags.output}: ${messageOf(error)}`);
  }
  process.stdout.write(`Report written to ${flags.output}\n`);
  return EXIT.ok;
}
