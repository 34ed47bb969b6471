import { runInNewContext } from 'node:vm';
import { withoutCredentials } from './log-redaction';

describe('withoutCredentials', () => {
  it("replaces a URL's password and a password parameter in text, and leaves the rest", () => {
    expect(withoutCredentials('Request to http://parvis:s3cret@meili.example:7700/health has failed')).toBe(
      'Request to http://parvis:[redacted]@meili.example:7700/health has failed',
    );
    expect(withoutCredentials('postgres://app:pa/ss@db/parvis and smtp://mail:pw@smtp.example')).toBe(
      'postgres://app:[redacted]@db/parvis and smtp://mail:[redacted]@smtp.example',
    );
    // A password with an unencoded `@`: the user's part ends at the last one, as a URL parser reads it.
    expect(withoutCredentials('Request to http://parvis:p@ss@meili.example/health has failed')).toBe('Request to http://parvis:[redacted]@meili.example/health has failed');
    expect(withoutCredentials('postgres://db/parvis?sslmode=require&password=s3cret')).toBe('postgres://db/parvis?sslmode=require&password=[redacted]');
    expect(withoutCredentials('connect ECONNREFUSED 127.0.0.1:5432 (postgres://app@db:5432/parvis)')).toBe('connect ECONNREFUSED 127.0.0.1:5432 (postgres://app@db:5432/parvis)');
  });

  it("copies an error whose message, stack, fields or cause name a URL's password, keeping its class and the rest; keeps one that names none", () => {
    class RequestError extends Error {
      override name = 'RequestError';
    }
    const cause = new TypeError('Request cannot be constructed from a URL that includes credentials: http://parvis:s3cret@meili.example/health');
    const err = Object.assign(new RequestError('Request to http://parvis:s3cret@meili.example/health has failed', { cause }), {
      code: 'E_REQUEST',
      request: { url: 'http://parvis:s3cret@meili.example/health', tries: [1, 'http://parvis:s3cret@meili.example'] },
    });
    const out = withoutCredentials(err);
    expect(out).toBeInstanceOf(RequestError);
    expect(out).not.toBe(err);
    expect(out.message).toBe('Request to http://parvis:[redacted]@meili.example/health has failed');
    expect(out.stack).toContain('RequestError: Request to http://parvis:[redacted]@meili.example/health has failed');
    expect((out.cause as Error).message).toBe('Request cannot be constructed from a URL that includes credentials: http://parvis:[redacted]@meili.example/health');
    expect(out).toMatchObject({ code: 'E_REQUEST', request: { url: 'http://parvis:[redacted]@meili.example/health', tries: [1, 'http://parvis:[redacted]@meili.example'] } });
    // What a log serializer reads (own fields, message, stack, the cause's) holds no password; the enumerable fields stay the same.
    expect(JSON.stringify([out, out.message, out.stack, (out.cause as Error).message, (out.cause as Error).stack])).not.toContain('s3cret');
    expect(Object.keys(out)).toEqual(Object.keys(err));
    // The error thrown is left as it was.
    expect(err.message).toContain('s3cret');
    const plain = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(withoutCredentials(plain)).toBe(plain);
  });

  it('reads errors and plain objects of another realm (a cause thrown by Node\'s fetch, seen from a test\'s modules)', () => {
    const cause = runInNewContext(`new TypeError('Request cannot be constructed from a URL that includes credentials: http://u:s3cret@h/')`) as Error;
    const fields = runInNewContext(`({ url: 'http://u:s3cret@h/' })`) as { url: string };
    const out = withoutCredentials(Object.assign(new Error('failed', { cause }), { fields }));
    expect([(out.cause as Error).message, (out.cause as Error).stack, out.fields.url].join()).not.toContain('s3cret');
  });

  it('ends at a cycle, and keeps objects of other classes as they are', () => {
    const err = new Error('to http://u:p@h failed') as Error & { self?: unknown; body?: unknown };
    err.self = err;
    const body = new Map([['url', 'http://u:p@h']]);
    err.body = body;
    const out = withoutCredentials(err);
    expect(out.message).toBe('to http://u:[redacted]@h failed');
    expect(out.body).toBe(body);
  });
});
