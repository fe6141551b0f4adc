/**
 * A password prompt on the terminal that does not echo what is typed. The prompt goes to
 * stderr so that stdout keeps only results; the typed text is never written anywhere.
 */
import { InputError } from './terminal.js';

/** Maximum password length from the prompt, in characters; a longer input is a paste mistake. */
const MAX_PASSWORD_LENGTH = 4096;

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACE = '\u0008';
const DELETE = '\u007f';

/** Ask for a password on a terminal with echo off; resolves with the line typed. */
export function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  // Echo goes off before the prompt appears, so nothing typed after it is echoed.
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  process.stderr.write(question);

  return new Promise((resolve, reject) => {
    let password = '';
    const finish = (error: Error | null) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(password);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === CTRL_D) return finish(null);
        if (char === CTRL_C) return finish(new InputError('Password prompt cancelled'));
        if (char === BACKSPACE || char === DELETE) password = password.slice(0, -1);
        else if (char === CTRL_U) password = '';
        else if (char >= ' ') password += char;
        if (password.length > MAX_PASSWORD_LENGTH) {
          return finish(new InputError(`Password longer than ${MAX_PASSWORD_LENGTH} characters`));
        }
      }
    };
    input.on('data', onData);
  });
}
