import net from 'node:net';
import { createTransporter, MemorySink } from '@mailwire/node';
import { afterEach, describe, expect, it } from 'vitest';

interface BdatCapture {
  port: number;
  lines: string[];
  /** Bytes of every BDAT chunk in order, joined. */
  data: () => Buffer;
  close: () => Promise<void>;
}

/**
 * A server that offers CHUNKING (and optionally PIPELINING and BINARYMIME), reads each
 * BDAT chunk by its declared size and answers like Postfix does.
 */
async function startBdatServer(extensions: string[]): Promise<BdatCapture> {
  const lines: string[] = [];
  const chunks: Buffer[] = [];
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let expecting = 0;
    let lastChunk = false;
    socket.write('220 bdat.example.test ESMTP\r\n');
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (let guard = 0; guard < 10_000; guard++) {
        if (expecting > 0) {
          if (buffer.length < expecting) return;
          chunks.push(buffer.subarray(0, expecting));
          buffer = buffer.subarray(expecting);
          expecting = 0;
          socket.write(lastChunk ? '250 2.0.0 Ok: queued as BDAT1\r\n' : '250 2.0.0 chunk ok\r\n');
          continue;
        }
        const end = buffer.indexOf('\r\n');
        if (end === -1) return;
        const line = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 2);
        lines.push(line);
        const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
        if (bdat) {
          expecting = Number(bdat[1]);
          lastChunk = bdat[2] !== undefined;
          if (expecting === 0) socket.write('250 2.0.0 Ok: queued as BDAT1\r\n');
        } else if (/^EHLO /.test(line)) {
          const offered = ['bdat.example.test', ...extensions, 'CHUNKING'];
          socket.write(
            offered
              .map((item, index) => `250${index === offered.length - 1 ? ' ' : '-'}${item}\r\n`)
              .join(''),
          );
        } else if (line === 'QUIT') {
          socket.end('221 2.0.0 Bye\r\n');
        } else {
          socket.write('250 2.1.0 Ok\r\n');
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    lines,
    data: () => Buffer.concat(chunks),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const servers: BdatCapture[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('BDAT when the server offers CHUNKING', () => {
  it.each([
    ['without pipelining', []],
    ['with pipelining', ['PIPELINING']],
  ])('sends the message unstuffed %s', async (_name, extensions) => {
    const server = await startBdatServer(extensions);
    servers.push(server);
    const sink = new MemorySink();
    const body = `Subject: bdat\n\n.leading dot\n${'x'.repeat(500)}\n`.repeat(1000);

    const result = await createTransporter({
      host: '127.0.0.1',
      port: server.port,
      transcriptSink: sink,
    }).send({ envelope: { from: 'a@example.test', to: ['b@example.test'] }, raw: body });

    expect(result.queueId).toBe('BDAT1');
    expect(server.lines.some((line) => /^BDAT \d+$/.test(line))).toBe(true);
    expect(server.lines.some((line) => /^BDAT \d+ LAST$/.test(line))).toBe(true);
    expect(server.lines).not.toContain('DATA');
    expect(server.data().toString()).toBe(body.replace(/\n/g, '\r\n'));
    expect(sink.text()).toContain('### Message data sent with BDAT:');
  });

  it('uses DATA when chunking is switched off', async () => {
    const server = await startBdatServer([]);
    servers.push(server);
    await createTransporter({ host: '127.0.0.1', port: server.port, chunking: false })
      .send({
        envelope: { from: 'a@example.test', to: ['b@example.test'] },
        raw: 'Subject: x\r\n\r\nx\r\n',
      })
      .catch(() => undefined);
    expect(server.lines).toContain('DATA');
  });

  it('declares BINARYMIME for a message with NUL octets', async () => {
    const server = await startBdatServer(['BINARYMIME']);
    servers.push(server);
    const raw = new Uint8Array([...Buffer.from('Subject: bin\r\n\r\n'), 0, 1, 2, 13, 10]);
    await createTransporter({ host: '127.0.0.1', port: server.port }).send({
      envelope: { from: 'a@example.test', to: ['b@example.test'] },
      raw,
    });
    expect(server.lines.find((line) => line.startsWith('MAIL FROM'))).toContain('BODY=BINARYMIME');
    expect([...server.data()]).toEqual([...raw]);
  });
});
