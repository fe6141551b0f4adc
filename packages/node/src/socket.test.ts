import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeSocket } from './socket.js';

const servers: net.Server[] = [];
const serverSockets = new Set<net.Socket>();

afterEach(async () => {
  for (const socket of serverSockets) socket.destroy();
  serverSockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
});

/** Listen on 127.0.0.1 and hand each accepted socket to `onConnection`. */
async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    serverSockets.add(socket);
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function connect(port: number): Promise<NodeSocket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return new NodeSocket(socket);
}

async function readAll(socket: NodeSocket): Promise<string> {
  const chunks: Uint8Array[] = [];
  for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString();
}

describe('NodeSocket', () => {
  it('reads what the server sends and then null', async () => {
    const port = await listen((socket) => socket.end('220 ready\r\n'));
    const socket = await connect(port);

    expect(await readAll(socket)).toBe('220 ready\r\n');
    expect(await socket.read()).toBeNull();
  });

  it('writes bytes the server receives in order', async () => {
    let received = '';
    const done = new Promise<void>((resolve) => {
      void listen((socket) => {
        socket.on('data', (chunk) => {
          received += chunk.toString();
        });
        socket.on('end', () => {
          socket.end();
          resolve();
        });
      }).then(async (port) => {
        const client = await connect(port);
        await client.write(Buffer.from('EHLO client.example.test\r\n'));
        await client.write(Buffer.from('QUIT\r\n'));
        client.close();
      });
    });

    await done;
    expect(received).toBe('EHLO client.example.test\r\nQUIT\r\n');
  });

  it('waits for drain when the kernel buffer is full', async () => {
    let receivedBytes = 0;
    let serverSocket: net.Socket | undefined;
    const port = await listen((socket) => {
      serverSocket = socket;
      socket.pause();
      socket.on('data', (chunk) => {
        receivedBytes += chunk.length;
      });
    });
    const client = await connect(port);
    const block = Buffer.alloc(1024 * 1024, 0x61);

    // The server reads nothing yet, so some write must stay pending until it does.
    let pendingSeen = false;
    for (let index = 0; index < 64 && !pendingSeen; index += 1) {
      const write = client.write(block);
      const settled = await Promise.race([write.then(() => true), delay(20).then(() => false)]);
      if (!settled) {
        pendingSeen = true;
        serverSocket?.resume();
        await write;
      }
    }

    expect(pendingSeen).toBe(true);
    expect(receivedBytes).toBeGreaterThan(0);
    client.close();
  });

  it('rejects a read with the socket error and keeps its code', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const socket = await connect(port);
    await socket.write(Buffer.from('EHLO client.example.test\r\n'));

    const error = await socket.read().then(
      () => null,
      (reason: NodeJS.ErrnoException) => reason,
    );
    expect(error?.code).toBe('ECONNRESET');
  });

  it('rejects writes after close', async () => {
    const port = await listen(() => undefined);
    const socket = await connect(port);
    socket.close();

    await expect(socket.write(Buffer.from('NOOP\r\n'))).rejects.toMatchObject({ code: 'EPIPE' });
  });

  it('resolves a pending read with null on close', async () => {
    const port = await listen(() => undefined);
    const socket = await connect(port);
    const read = socket.read();
    socket.close();

    expect(await read).toBeNull();
  });

  it('closes once and ends the connection', async () => {
    let serverSawEnd = false;
    const ended = new Promise<void>((resolve) => {
      void listen((socket) => {
        socket.on('end', () => {
          serverSawEnd = true;
          socket.end();
          resolve();
        });
        socket.resume();
      }).then(async (port) => {
        const socket = await connect(port);
        socket.close();
        socket.close();
      });
    });

    await ended;
    expect(serverSawEnd).toBe(true);
  });

  it('reports local and remote addresses', async () => {
    const port = await listen(() => undefined);
    const socket = await connect(port);

    expect(socket.localAddress).toBe('127.0.0.1');
    expect(socket.remoteAddress).toBe('127.0.0.1');
    socket.close();
  });

  it('pauses a fast sender and delivers every byte in order', async () => {
    const total = 4 * 1024 * 1024;
    const payload = Buffer.alloc(total);
    for (let index = 0; index < total; index += 1) payload[index] = index % 251;
    const port = await listen((socket) => socket.end(payload));
    const socket = await connect(port);

    // Let the queue fill up before reading anything.
    await delay(100);
    const chunks: Uint8Array[] = [];
    for (let chunk = await socket.read(); chunk !== null; chunk = await socket.read()) {
      chunks.push(chunk);
    }
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
