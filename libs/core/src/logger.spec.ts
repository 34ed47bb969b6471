import { Writable } from 'node:stream';
import { stdSerializers } from 'pino';
import { createLogger, PinoNestLogger, serializeError } from './logger';

/** A logger over createLogger writing its JSON lines to an array. */
function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', stream }) };
}

/** A failed statement's error as TypeORM throws it: its parameters and the driver's error, whose detail names a row. */
function failedStatement(): Error {
  const driverError = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
    code: '23505',
    detail: 'Key (email)=(row-value@example.com) already exists.',
  });
  return Object.assign(new Error(`duplicate key (through http://parvis:url-pw@meili.example/)`), {
    query: 'INSERT INTO users (email, password_hash) VALUES ($1, $2)',
    parameters: ['row-value@example.com', '$argon2id$v=19$hash'],
    driverError,
  });
}

describe('createLogger', () => {
  it("serializes an error without its statement's parameters, the server's detail or a URL's password, the hook or not", () => {
    const out = JSON.stringify(serializeError(failedStatement()));
    expect(out).toContain('INSERT INTO users');
    expect(out).toContain('http://parvis:[redacted]@meili.example/');
    expect(out).not.toMatch(/row-value|argon2|url-pw/);
  });

  it('leaves them out of an error pino serialized already, as pino-http hands its err serializer one (wrapErrorSerializer)', () => {
    const out = JSON.stringify(serializeError(stdSerializers.err(failedStatement()) as unknown as Error));
    expect(out).toContain('INSERT INTO users');
    expect(out).toContain('http://parvis:[redacted]@meili.example/');
    expect(out).not.toMatch(/row-value|argon2|url-pw/);
  });

  it('leaves them out of an error bound to a child logger, which the logMethod hook does not see', async () => {
    const { lines, log } = capture();
    log.child({ err: failedStatement() }).warn('bound');
    await new Promise((r) => setImmediate(r));
    const all = lines.join('');
    expect(all).toContain('"msg":"bound"');
    expect(all).toContain('INSERT INTO users');
    expect(all).not.toMatch(/row-value|argon2|url-pw/);
  });

  it('writes a line whose fields cannot all be read (a getter that throws, a revoked Proxy), rather than throwing', async () => {
    const { lines, log } = capture();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const fields = {
      url: 'http://parvis:url-pw@meili.example/',
      get broken(): string {
        throw new Error('getter failed');
      },
      proxy,
    };
    expect(() => log.warn(fields, 'odd fields')).not.toThrow();
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'odd fields', url: 'http://parvis:[redacted]@meili.example/', broken: '[redacted: unreadable]', proxy: '[redacted: unreadable]' });
  });

  it('writes such fields given to the Nest logger over it (the CLI’s) as its message, rather than throwing', async () => {
    const { lines, log } = capture();
    const nest = new PinoNestLogger(log);
    const fields = {
      url: 'http://parvis:url-pw@meili.example/',
      get broken(): string {
        throw new Error('getter failed');
      },
    };
    expect(() => nest.warn(fields, 'Search')).not.toThrow();
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(() => nest.warn(proxy, 'Search')).not.toThrow();
    await new Promise((r) => setImmediate(r));
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ context: 'Search', url: 'http://parvis:[redacted]@meili.example/', broken: '[redacted: unreadable]' });
    expect(second).toMatchObject({ context: 'Search', msg: '[redacted: unreadable]' });
  });
});
