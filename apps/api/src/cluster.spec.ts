import { once } from 'node:events';
import { createServer, ServerOptions } from 'node:http';
import * as net from 'node:net';
import pino from 'pino';
import { logSink } from '../../../test/support/log-sink';
import { dropIfSilent, trackTimeoutsWithoutListening, wholeRequest } from './cluster';

describe('wholeRequest (whether a connection can go to a worker, socket and all, after its first chunk)', () => {
  const request = (head: string, body = '') => Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');

  it('takes a request without a body, or whose body the chunk holds whole', () => {
    expect(wholeRequest(request('GET /health HTTP/1.1\r\nHost: x'))).toBe(true);
    expect(wholeRequest(request('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 13', '{"query":"1"}'))).toBe(true);
    expect(wholeRequest(request('POST /graphql HTTP/1.1\r\ncontent-length:2', '{}'))).toBe(true);
  });

  it('refuses headers not yet ended, a body still to come, a chunked body, and one waiting for 100 Continue', () => {
    expect(wholeRequest(Buffer.from('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Le'))).toBe(false);
    expect(wholeRequest(request('POST /graphql HTTP/1.1\r\nContent-Length: 14', '{"query":"1"'))).toBe(false);
    expect(wholeRequest(request('POST /graphql HTTP/1.1\r\nTransfer-Encoding: chunked', '5\r\nhello\r\n0\r\n\r\n'))).toBe(false);
    expect(wholeRequest(request('POST /graphql HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2'))).toBe(false);
  });
});

describe('a worker’s and the primary’s bounds on a slow client', () => {
  const servers: net.Server[] = [];
  afterEach(() => servers.splice(0).forEach((s) => s.close()));

  /** What a client sending `sent` to a server handing its connection to `onConnection` reads before the server closes it (null: not closed within 5 s). */
  const readUntilClosed = async (onConnection: (socket: net.Socket) => void, sent: string): Promise<string | null> => {
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.write(sent);
    let text = '';
    client.on('data', (c: Buffer) => (text += c.toString()));
    const closed = once(client, 'close');
    let timedOut = false;
    const bound = setTimeout(() => ((timedOut = true), client.destroy()), 5_000);
    await closed;
    clearTimeout(bound);
    return timedOut ? null : text;
  };

  it('a server that never listens, as a worker’s, answers a request line not ended within headersTimeout with 408', async () => {
    const http = createServer({ connectionsCheckingInterval: 50 } as ServerOptions, () => undefined);
    http.headersTimeout = 200;
    http.requestTimeout = 200;
    trackTimeoutsWithoutListening(http, pino({ level: 'silent' }));
    const said = await readUntilClosed((socket) => http.emit('connection', socket), 'GET /health HT');
    expect(said).toMatch(/^HTTP\/1\.1 408/);
  });

  it('the primary drops a connection that sends nothing', async () => {
    expect(await readUntilClosed((socket) => dropIfSilent(socket, 200), '')).toBe('');
  });
});

// Node's listener was found by its name, and a Node that renamed it (or started the checks otherwise) left a worker's
// server without headersTimeout and requestTimeout, silently; until 2026-12-07.
describe('trackTimeoutsWithoutListening when Node has no listener of that name', () => {
  it('warns through the logger, once for the process, naming what is lost', () => {
    const { lines, sink } = logSink();
    const log = pino(sink);
    const renamed = () => {
      const http = createServer(() => undefined);
      http.removeAllListeners('listening');
      http.on('listening', function trackConnectionsRenamed() {});
      return http;
    };
    trackTimeoutsWithoutListening(createServer(() => undefined), log);
    expect(lines).toEqual([]);
    trackTimeoutsWithoutListening(renamed(), log);
    trackTimeoutsWithoutListening(renamed(), log);
    expect(lines.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: expect.stringMatching(/setupConnectionsTracking.*headersTimeout and requestTimeout/) }),
    ]);
  });
});
