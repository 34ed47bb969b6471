import { once } from 'node:events';
import { createServer, ServerOptions } from 'node:http';
import * as net from 'node:net';
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
    trackTimeoutsWithoutListening(http);
    const said = await readUntilClosed((socket) => http.emit('connection', socket), 'GET /health HT');
    expect(said).toMatch(/^HTTP\/1\.1 408/);
  });

  it('the primary drops a connection that sends nothing', async () => {
    expect(await readUntilClosed((socket) => dropIfSilent(socket, 200), '')).toBe('');
  });
});
