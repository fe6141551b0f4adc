/**
 * The `mailwire` command: argument parsing and dispatch to the subcommands. Usage errors
 * exit with status 2, like invalid input; every subcommand sets its own status otherwise.
 */
import { Command, CommanderError } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { runExplain } from './explain-command.js';
import { defineProbeCommand } from './probe-command.js';
import { defineReplayCommand } from './replay-command.js';
import { defineSendCommand } from './send-command.js';
import { EXIT, InputError, messageOf, printError } from './terminal.js';
import { defineViewCommand } from './view-command.js';

function createProgram(): Command {
  const program = new Command('mailwire')
    .description('Send mail over SMTP with a readable, masked transcript, and explain transcripts')
    .version(packageJson.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help for the command')
    .showHelpAfterError('(run with --help for the options)')
    .exitOverride();

  defineSendCommand(program);
  defineProbeCommand(program);

  program
    .command('explain')
    .description('read a transcript (text or JSON Lines) and explain what failed and what to try')
    .argument('<file>', 'transcript file written by --log or by a mailwire log sink')
    .option('--json', 'print the analysis as one JSON object')
    .addHelpText(
      'after',
      '\nExit status: 0 the file was read, 2 it could not be read or has no transcript lines.',
    )
    .action(async (file: string, flags: { json?: boolean }) => {
      process.exitCode = await runExplain(file, flags);
    });

  defineViewCommand(program);
  defineReplayCommand(program);

  program
    .command('demo')
    .description('how to run the demo')
    .action(() => {
      process.stdout.write(
        'The demo runs from a checkout of the mailwire repository: npm run demo\n',
      );
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = exitStatusFor(error);
  }
}

/** Exit status for an error that reached the top: commander's own, input errors, or a bug. */
function exitStatusFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version requests end through the same path with exit code 0.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof InputError) {
    printError(error.message);
    return EXIT.usage;
  }
  printError(`unexpected error: ${messageOf(error)}`);
  return EXIT.failed;
}

await main(process.argv);
