import { describe, expect, it } from 'vitest';
import { MASK } from '../limits.js';
import { nextConnectionId, TranscriptRecorder } from './recorder.js';
import { SecretScanner } from './redact.js';

function createRecorder(scanner?: SecretScanner) {
  let now = 1_000_000;
  const recorder = new TranscriptRecorder({
    now: () => now,
    processId: 4182,
    connectionId: 7,
    ...(scanner === undefined ? {} : { scanner }),
  });
  return {
    recorder,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('TranscriptRecorder', () => {
  it('stamps entries with time, elapsed time and ids', () => {
    const { recorder, advance } = createRecorder();
    advance(40);
    recorder.add('event', 'connected');
    advance(2);
    recorder.add('client', 'EHLO x');

    const [first, second] = recorder.take();
    expect(first).toMatchObject({
      time: 1_000_040,
      elapsedMs: 40,
      processId: 4182,
      connectionId: 7,
      direction: 'event',
      text: 'connected',
      redacted: false,
    });
    expect(second).toMatchObject({ time: 1_000_042, elapsedMs: 42, direction: 'client' });
  });

  it('numbers entries in creation order across recorders', () => {
    const a = createRecorder().recorder;
    const b = createRecorder().recorder;
    a.add('event', 'one');
    b.add('event', 'two');
    a.add('event', 'three');

    const [one, three] = a.take();
    const [two] = b.take();
    expect(two!.counter).toBe(one!.counter + 1);
    expect(three!.counter).toBe(two!.counter + 1);
  });

  it('returns each entry once from take', () => {
    const { recorder } = createRecorder();
    recorder.add('server', '220 ready');

    expect(recorder.take()).toHaveLength(1);
    expect(recorder.take()).toEqual([]);
  });

  it('masks secrets with the scanner and marks the entry redacted', () => {
    const { recorder } = createRecorder(new SecretScanner({ user: 'u', pass: 'hunter2' }));
    recorder.add('server', '535 password hunter2 rejected');

    const [entry] = recorder.take();
    expect(entry!.text).toBe(`535 password ${MASK} rejected`);
    expect(entry!.redacted).toBe(true);
  });

  it('keeps the redacted flag given by the caller', () => {
    const { recorder } = createRecorder(new SecretScanner({ user: 'u', pass: 'hunter2' }));
    recorder.add('client', `AUTH PLAIN ${MASK}`, true);

    expect(recorder.take()[0]!.redacted).toBe(true);
  });

  it('reports its connection id', () => {
    expect(createRecorder().recorder.connectionId).toBe(7);
  });
});

describe('nextConnectionId', () => {
  it('returns increasing ids', () => {
    const first = nextConnectionId();

    expect(nextConnectionId()).toBe(first + 1);
  });
});
