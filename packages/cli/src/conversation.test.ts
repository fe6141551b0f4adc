import { describe, expect, it } from 'vitest';
import { splitConnections } from './conversation.js';
import { describeEvent, describeStep } from './narrative.js';
import { readTranscript } from './transcript-reader.js';

const T = '2026-12-04T15:03:12.143';

function connectionsOf(lines: string[]) {
  return splitConnections(readTranscript(lines.join('\n')).records);
}

function linesOf(connection: ReturnType<typeof connectionsOf>[number]): number[] {
  return connection.records.map((record) => record.line);
}

describe('splitConnections', () => {
  it('separates processes that share a connection id', () => {
    const connections = connectionsOf([
      `1 ${T} 100 1 ### SMTP Connected to 'a.example.test' on port 25.`,
      `1 ${T} 200 1 ### SMTP Connected to 'b.example.test' on port 25.`,
      `2 ${T} 100 1 S < "220 a.example.test ESMTP"`,
      `2 ${T} 200 1 S < "421 b.example.test busy"`,
    ]);

    expect(connections).toHaveLength(2);
    expect(connections.map((connection) => connection.processId)).toEqual([100, 200]);
    expect(connections.map((connection) => connection.id)).toEqual([1, 1]);
    expect(connections.map((connection) => connection.host)).toEqual([
      'a.example.test',
      'b.example.test',
    ]);
    expect(linesOf(connections[0]!)).toEqual([1, 3]);
    expect(linesOf(connections[1]!)).toEqual([2, 4]);
  });

  it('starts a new connection when a restarted process repeats its ids', () => {
    const connections = connectionsOf([
      `1 ${T} 100 1 ### SMTP Connected to 'a.example.test' on port 25.`,
      `2 ${T} 100 1 S < "220 a.example.test ESMTP"`,
      `1 ${T} 100 1 ### SMTP Connection to 'a.example.test' on port 25 failed: ECONNREFUSED`,
      `1 ${T} 100 1 ### SMTP Connected to 'a.example.test' on port 587.`,
      `2 ${T} 100 1 S < "220 a.example.test ESMTP"`,
    ]);

    expect(connections).toHaveLength(3);
    expect(connections.map(linesOf)).toEqual([[1, 2], [3], [4, 5]]);
    expect(connections.map((connection) => connection.port)).toEqual([25, 25, 587]);
  });

  it('joins a record without process id to its connection', () => {
    const connections = connectionsOf([
      `1 ${T} 100 1 ### SMTP Connected to 'a.example.test' on port 25.`,
      `1 ${T} 200 1 ### SMTP Connected to 'b.example.test' on port 25.`,
      `2 ${T} 1 S < "220 b.example.test ESMTP"`,
    ]);

    expect(connections).toHaveLength(2);
    expect(linesOf(connections[1]!)).toEqual([2, 3]);
  });

  it('orders the end of data after its event', () => {
    const [connection] = connectionsOf([
      `1 ${T} 100 1 C > "DATA"`,
      `2 ${T} 100 1 S < "354 go ahead"`,
      `3 ${T} 100 1 C > "Subject: logged body line"`,
      `4 ${T} 100 1 ### Message data sent: 40 bytes on the wire, 2 lines`,
      `5 ${T} 100 1 S < "250 queued"`,
    ]);
    const order = connection!.timeline.map((item) =>
      item.kind === 'step' ? describeStep(item.step).lines : describeEvent(item.line).lines,
    );

    expect(order).toEqual([[1, 2], [4], [3, 5]]);
  });
});
