import { describe, expect, it } from 'vitest';
import { ReadQueue } from './read-queue.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (chunk: Uint8Array | null): string | null =>
  chunk === null ? null : new TextDecoder().decode(chunk);

/** Create a queue whose pause and resume calls are recorded in order. */
function recordingQueue(maxQueuedBytes?: number): { queue: ReadQueue; calls: string[] } {
  const calls: string[] = [];
  const flow = { pause: () => calls.push('pause'), resume: () => calls.push('resume') };
  return { queue: new ReadQueue(flow, maxQueuedBytes), calls };
}

describe('ReadQueue', () => {
  it('hands queued chunks out in order', async () => {
    const { queue } = recordingQueue();
    queue.push(bytes('220 ready\r\n'));
    queue.push(bytes('250 ok\r\n'));

    expect(text(await queue.read())).toBe('220 ready\r\n');
    expect(text(await queue.read())).toBe('250 ok\r\n');
  });

  it('gives a chunk to a read that is waiting', async () => {
    const { queue } = recordingQueue();
    const pending = queue.read();
    queue.push(bytes('220 ready\r\n'));

    expect(text(await pending)).toBe('220 ready\r\n');
  });

  it('pauses at the limit and resumes below it', async () => {
    const { queue, calls } = recordingQueue(8);
    queue.push(bytes('1234'));
    queue.push(bytes('5678'));
    queue.push(bytes('9'));
    expect(calls).toEqual(['pause']);

    await queue.read();
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('reads queued bytes before the end', async () => {
    const { queue } = recordingQueue();
    queue.push(bytes('221 bye\r\n'));
    queue.end();

    expect(text(await queue.read())).toBe('221 bye\r\n');
    expect(await queue.read()).toBeNull();
    expect(queue.ended).toBe(true);
  });

  it('rejects waiting and later reads with the error', async () => {
    const { queue } = recordingQueue();
    const pending = queue.read();
    const reset = new Error('read ECONNRESET');
    queue.end(reset);

    await expect(pending).rejects.toBe(reset);
    await expect(queue.read()).rejects.toBe(reset);
    expect(queue.failure).toBe(reset);
  });

  it('keeps the first end', async () => {
    const { queue } = recordingQueue();
    queue.end();
    queue.end(new Error('late'));
    queue.push(bytes('ignored'));

    expect(await queue.read()).toBeNull();
    expect(queue.failure).toBeNull();
  });

  it('drops queued bytes on clear', async () => {
    const { queue } = recordingQueue();
    queue.push(bytes('250 injected\r\n'));
    queue.clear();

    expect(await queue.read()).toBeNull();
  });
});
