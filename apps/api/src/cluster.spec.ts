import { wholeRequest } from './cluster';

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
