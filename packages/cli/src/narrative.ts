/**
 * One plain sentence per step and event of a conversation, with the line numbers it comes
 * from: the "what happened" part of `explain` and `view`. Texts are quoted from the log,
 * which is masked already; nothing here unmasks or adds a secret.
 */
import type { Step } from './conversation.js';
import type { LogLine } from './transcript-reader.js';

/** One sentence of the narrative. */
export interface Happening {
  lines: number[];
  text: string;
  level: 'ok' | 'info' | 'warning' | 'error';
}

/** Longest quoted reply text in a sentence, in characters. */
const MAX_QUOTE = 160;

/** Describe a step: the command and the server's reply. */
export function describeStep(step: Step): Happening {
  const lines = [
    step.command?.line,
    ...step.body.map((line) => line.line),
    ...(step.reply?.lines ?? []).map((line) => line.line),
  ];
  const unique = [...new Set(lines.filter((line): line is number => line !== undefined))];
  return { lines: unique, ...sentenceOf(step) };
}

function sentenceOf(step: Step): Omit<Happening, 'lines'> {
  const reply = step.reply;
  const label = labelOf(step);
  if (!reply)
    return {
      text: `${label}: no reply in the log`,
      level: step.phase === 'quit' ? 'info' : 'warning',
    };

  const first = quote(reply.lines[0]?.text ?? '');
  const code = reply.code ?? 0;
  if (code >= 400) {
    const all = quote(reply.lines.map((line) => line.text).join(' '));
    return { text: `${label}: ${code < 500 ? 'deferred' : 'rejected'}: ${all}`, level: 'error' };
  }
  if (step.phase === 'ehlo') {
    const keywords = reply.lines.slice(1).map((line) => line.text.replace(/^\d{3}[ -]/, ''));
    const offered = keywords.length > 0 ? `; the server offers ${keywords.join(', ')}` : '';
    return { text: `${label}: accepted${offered}`, level: 'ok' };
  }
  if (step.verb === 'GREETING') return { text: `Greeting: ${first}`, level: 'ok' };
  if (code === 334) return { text: `${label}: the server asks for more (${first})`, level: 'info' };
  if (code === 354)
    return { text: `${label}: the server is ready for the message (${first})`, level: 'ok' };
  return { text: `${label}: accepted: ${first}`, level: 'ok' };
}

function labelOf(step: Step): string {
  if (step.verb === 'GREETING') return 'Greeting';
  if (step.verb === 'UNSOLICITED') return 'Reply that no command asked for';
  if (step.verb === '.') {
    const logged = step.body.length > 0 ? `, ${step.body.length} lines logged` : '';
    return `End of message data${logged}`;
  }
  if (step.verb === 'AUTH-RESPONSE')
    return `Answer to the AUTH challenge (${step.command?.text ?? ''})`;
  return step.command?.text ?? step.verb;
}

/** Describe an event line. */
export function describeEvent(line: LogLine): Happening {
  const text = line.text;
  let level: Happening['level'] = 'info';
  if (/timed out|failed|^Connection error|rejected before connecting/i.test(text)) level = 'error';
  else if (/NOT verified|STARTTLS rejected|bare LF|Discarded/i.test(text)) level = 'warning';
  return { lines: [line.line], text: quote(text, 400), level };
}

function quote(text: string, limit = MAX_QUOTE): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** Format line numbers compactly: `3, 5-7, 12`. */
export function formatLineNumbers(lines: readonly number[]): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let index = 0; index < sorted.length; index++) {
    const start = sorted[index]!;
    let end = start;
    while (sorted[index + 1] === end + 1) end = sorted[++index]!;
    ranges.push(start === end ? `${start}` : `${start}-${end}`);
  }
  return ranges.join(', ');
}
