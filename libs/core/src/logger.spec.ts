import { Writable } from 'node:stream';
import pinoHttp, { Options as PinoHttpOptions } from 'pino-http';
import { loggerOptions } from '../../../apps/api/src/logging';
import { AppConfig } from './config/config';
import * as redaction from './log-redaction';
import { createLogger, PinoNestLogger } from './logger';

/** A stream that keeps what is written to it, chunk by chunk. */
function sink(): { chunks: string[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { chunks, stream };
}

/** A logger over createLogger writing its JSON lines to an array. */
function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const { chunks, stream } = sink();
  return { lines: chunks, log: createLogger({ level: 'info', stream }) };
}

const settled = () => new Promise((r) => setImmediate(r));

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

/** The line holds the statement and the URL without its password, and none of the row's values. */
function expectClean(out: string): void {
  expect(out).toContain('INSERT INTO users');
  expect(out).toContain('http://parvis:[redacted]@meili.example/');
  expect(out).not.toMatch(/row-value|argon2|url-pw/);
}

/** What some libraries reject with: no Error, but an object of a class of their own with a message (and fields). */
class Refusal {
  message = 'refused by http://parvis:url-pw@meili.example/';
  url = 'http://parvis:url-pw@meili.example/';
}

describe('createLogger', () => {
  it('leaves a logged error’s parameters, detail and URL passwords out, on every path an error takes to a line', async () => {
    const { lines, log } = capture();
    // The error as the line's first argument (pino takes the message from it), and as its `err` field.
    log.error(failedStatement());
    log.error({ err: failedStatement() }, 'failed');
    // Bound to a child, and to a logger's bindings later (nestjs-pino's `assign`): no log call's arguments.
    log.child({ err: failedStatement() }).warn('bound');
    const rebound = log.child({});
    rebound.setBindings({ err: failedStatement() });
    rebound.warn('bound later');
    // A message's format arguments, and a field's text.
    log.info('see %s', 'http://parvis:url-pw@meili.example/');
    log.info({ engine: { url: 'http://parvis:url-pw@meili.example/' } }, 'engine');
    await settled();
    expect(lines).toHaveLength(6);
    for (const line of lines.slice(0, 4)) expectClean(line);
    for (const line of lines.slice(4)) {
      expect(line).toContain('http://parvis:[redacted]@meili.example/');
      expect(line).not.toContain('url-pw');
    }
  });

  // A URL object is no string: until 2026-12-07 the walker kept it as it was, `%s` printed its href whole and JSON its
  // toJSON (the href), the password in both; as a field, pino's `*.password` path threw on it.
  it('leaves a URL object’s password out, as a format argument, a field at any depth and a binding', async () => {
    const { lines, log } = capture();
    const url = new URL('postgres://parvis:url-pw@db.example/parvis?sslmode=require');
    log.info('connecting to %s', url);
    log.info({ url }, 'field');
    log.info({ database: { primary: { url } } }, 'nested field');
    log.child({ url }).info('bound');
    await settled();
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'connecting to postgres://parvis:[redacted]@db.example/parvis?sslmode=require' });
    for (const line of lines.slice(1)) {
      expect(line).toContain('"postgres://parvis:[redacted]@db.example/parvis?sslmode=require"');
      expect(line).not.toContain('url-pw');
    }
    // The caller's URL is left as it was.
    expect(url.password).toBe('url-pw');
  });

  // `%s` printed a URLSearchParams's text whole, its token in it; until 2026-12-07.
  it('leaves a URLSearchParams’s token out, as a format argument and a field', async () => {
    const { lines, log } = capture();
    const params = new URLSearchParams({ kind: 'digest', token: 'qs-tok' });
    log.info('unsubscribing with %s', params);
    log.info({ query: params }, 'field');
    await settled();
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'unsubscribing with kind=digest&token=[redacted]' });
    expect(JSON.parse(lines[1])).toMatchObject({ query: 'kind=digest&token=[redacted]' });
  });

  // An object of another class whose own fields were clean was kept, and pino's JSON wrote what its toJSON gives as it
  // was (a private field's password); one whose toJSON threw made the line fail; until 2026-12-07.
  it("writes what the toJSON of an object of another class gives redacted, and a line whose toJSON throws", async () => {
    class Connection {
      readonly #pw = 'private-pw';
      toJSON(): object {
        return { password: this.#pw, dsn: `postgres://a:${this.#pw}@h/db` };
      }
    }
    const broken = new (class Broken {
      toJSON(): never {
        throw new Error('no');
      }
    })();
    const { lines, log } = capture();
    log.info({ conn: new Connection() }, 'connecting');
    expect(() => log.info({ broken }, 'broken')).not.toThrow();
    await settled();
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({ conn: { password: '[redacted]', dsn: 'postgres://a:[redacted]@h/db' } });
    expect(JSON.parse(lines[1])).toMatchObject({ broken: '[redacted: unreadable]' });
  });

  // pino's `*.password`-like paths cloned whatever they passed (an object of any class, as `Object.create` of its
  // prototype and its own fields): a Buffer's clone threw as JSON wrote it, a class whose toJSON reads a private field
  // wrote `[unable to serialize…]`; until 2026-12-07. The names are the walker's now, at any depth, in an object of
  // another class too.
  it('writes fields of any class (a Buffer, a class with private fields), rather than throwing, and leaves out a password field at any depth', async () => {
    class Job {
      readonly #id = 7;
      toJSON() {
        return { id: this.#id };
      }
    }
    class Account {
      constructor(
        readonly name: string,
        readonly password: string,
      ) {}
    }
    const { lines, log } = capture();
    expect(() => log.info({ body: Buffer.from('hi') }, 'buffer')).not.toThrow();
    expect(() => log.info({ job: new Job(), nested: { job: new Job() } }, 'job')).not.toThrow();
    expect(() => log.child({ body: Buffer.from('hi') }).info('bound buffer')).not.toThrow();
    log.info({ account: new Account('ada', 'field-pw'), deep: { deeper: { account: new Account('bob', 'field-pw'), token: 'tok-1' } } }, 'accounts');
    await settled();
    expect(lines).toHaveLength(4);
    const [buffer, job, bound, accounts] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(buffer).toMatchObject({ msg: 'buffer', body: { type: 'Buffer', data: [104, 105] } });
    expect(job).toMatchObject({ msg: 'job', job: { id: 7 }, nested: { job: { id: 7 } } });
    expect(bound).toMatchObject({ msg: 'bound buffer', body: { type: 'Buffer', data: [104, 105] } });
    expect(accounts).toMatchObject({ account: { name: 'ada', password: '[redacted]' }, deep: { deeper: { account: { name: 'bob', password: '[redacted]' }, token: '[redacted]' } } });
    expect(lines.join('')).not.toMatch(/field-pw|tok-1/);
  });

  // A cycle through such an object led to the original (its password in it), which pino then wrote one level deeper.
  it('leaves a password out of an object of another class that leads back to itself', async () => {
    class Account {
      self?: Account;
      constructor(
        readonly name: string,
        readonly password: string,
      ) {}
    }
    const account = new Account('ada', 'cycle-pw');
    account.self = account;
    const { lines, log } = capture();
    log.info({ account }, 'cycle');
    await settled();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ account: { name: 'ada', password: '[redacted]' } });
    expect(lines[0]).not.toContain('cycle-pw');
  });

  it('leaves a password out of an error’s cause that is no error (a string or an object, as some drivers give one)', async () => {
    const { lines, log } = capture();
    log.error(Object.assign(new Error('could not connect'), { cause: { conninfo: 'host=db user=app password=dsn-pw', password: 'obj-pw' } }));
    log.error({ err: Object.assign(new Error('could not connect'), { cause: 'postgres://app:url-pw@db/parvis' }) }, 'failed');
    await settled();
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toMatchObject({ err: { cause: { conninfo: 'host=db user=app password=[redacted]', password: '[redacted]' } } });
    expect(JSON.parse(lines[1])).toMatchObject({ err: { cause: 'postgres://app:[redacted]@db/parvis' } });
    expect(lines.join('')).not.toMatch(/dsn-pw|obj-pw|url-pw/);
  });

  it('leaves them out of an error pino-http logs for a request (its own child, its err serializer wrapped), as the API’s settings make it', async () => {
    const { chunks, stream } = sink();
    const settings = loggerOptions({ LOG_LEVEL: 'info', LOG_REQUESTS: true } as AppConfig, stream).pinoHttp as PinoHttpOptions;
    const http = pinoHttp(settings);
    http.logger.error({ err: failedStatement() }, 'request errored');
    await settled();
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toContain('"msg":"request errored"');
    expectClean(chunks[0]);
  });

  // An object of another class is not walked by the hook (`redacted` keeps such objects as they are); pino's serializer
  // reads an `err` with a string `message` as an error all the same: its line is walked (until 2026-12-07 it was not).
  it('leaves a URL’s password out of an error-like object of another class logged as `err`, directly, bound and through pino-http', async () => {
    const { chunks, stream } = sink();
    const log = createLogger({ level: 'info', stream });
    const http = pinoHttp(loggerOptions({ LOG_LEVEL: 'info', LOG_REQUESTS: true } as AppConfig, stream).pinoHttp as PinoHttpOptions);
    log.error({ err: new Refusal() }, 'refused');
    log.child({ err: new Refusal() }).warn('bound');
    http.logger.error({ err: new Refusal() }, 'request refused');
    await settled();
    expect(chunks).toHaveLength(3);
    for (const chunk of chunks) {
      expect(chunk).not.toContain('url-pw');
      expect(JSON.parse(chunk)).toMatchObject({ err: { type: 'Refusal', message: 'refused by http://parvis:[redacted]@meili.example/', url: 'http://parvis:[redacted]@meili.example/' } });
    }
  });

  it('walks what a line carries once: an error logged, or given to the Nest logger over it, is redacted once, not again by the serializer', async () => {
    const walked = jest.spyOn(redaction, 'redacted');
    try {
      const { lines, log } = capture();
      // Nothing in it to replace: a walk leaves it as it is, so each walk is seen to get the caller's own error.
      const err = Object.assign(new Error('plain failure'), { code: 'E_PLAIN' });
      const reached = () => walked.mock.calls.filter(([arg]) => arg === err || (arg as { err?: unknown } | null)?.err === err).length;
      log.error({ err }, 'failed');
      expect(reached()).toBe(1);
      walked.mockClear();
      log.error(err);
      expect(reached()).toBe(1);
      walked.mockClear();
      new PinoNestLogger(log).error(err, undefined, 'Search');
      expect(reached()).toBe(1);
      await settled();
      expect(lines).toHaveLength(3);
      for (const line of lines) expect(JSON.parse(line)).toMatchObject({ err: { message: 'plain failure', code: 'E_PLAIN' } });
    } finally {
      walked.mockRestore();
    }
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
    await settled();
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'odd fields', url: 'http://parvis:[redacted]@meili.example/', broken: '[redacted: unreadable]', proxy: '[redacted: unreadable]' });
  });
});

describe('PinoNestLogger (the CLI’s Nest logger)', () => {
  it('writes such fields given as its message, rather than throwing', async () => {
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
    await settled();
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ context: 'Search', url: 'http://parvis:[redacted]@meili.example/', broken: '[redacted: unreadable]' });
    expect(second).toMatchObject({ context: 'Search', msg: '[redacted: unreadable]' });
  });

  // As nestjs-pino's Logger (the API's) takes one: its own fields on the line, walked (until 2026-12-07 they were not).
  it('leaves a URL’s password out of the fields of an object of another class given as its message', async () => {
    const { lines, log } = capture();
    new PinoNestLogger(log).warn(new Refusal(), 'Search');
    await settled();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('url-pw');
    expect(JSON.parse(lines[0])).toMatchObject({ context: 'Search', message: 'refused by http://parvis:[redacted]@meili.example/' });
  });

  it('logs an error as Nest’s exception handlers report one, (message, stack, context): its stack as the error’s, redacted', async () => {
    const { lines, log } = capture();
    const message = 'Request to http://parvis:url-pw@meili.example/indexes has failed';
    const stack = `Error: ${message}\n    at MeiliSearch.request (/app/node_modules/meilisearch/dist/index.js:1:1)`;
    new PinoNestLogger(log).error(message, stack, 'ExceptionsHandler');
    await settled();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('url-pw');
    const line = JSON.parse(lines[0]) as { level: number; context: string; msg: string; err: { message: string; stack: string } };
    expect(line).toMatchObject({ level: 50, context: 'ExceptionsHandler', msg: 'Request to http://parvis:[redacted]@meili.example/indexes has failed' });
    expect(line.err.message).toBe(line.msg);
    expect(line.err.stack).toMatch(/^Error: Request to http:\/\/parvis:\[redacted\]@meili\.example\/indexes has failed\n {4}at MeiliSearch\.request /);
  });

  it('writes lines for a person with the text format (the CLI’s): level, context and message, the error, then the other fields', async () => {
    const { chunks, stream } = sink();
    const nest = new PinoNestLogger(createLogger({ level: 'warn', text: true, stream }));
    const err = Object.assign(new Error('could not reach the engine', { cause: new Error('connect ECONNREFUSED http://parvis:url-pw@meili.example/') }), { engine: 'meilisearch' });
    nest.warn({ err, attempts: 3, password: 'field-pw' }, 'Search');
    // A cause of another kind (a driver's plain object with a message) goes into the message the same way.
    nest.error({ err: Object.assign(new Error('reindex failed'), { cause: { type: 'PgError', message: 'password authentication failed for postgres://parvis:url-pw@db/parvis' } }) });
    nest.error('search:reindex failed');
    nest.log('not shown: below warn', 'Search');
    await settled();
    expect(chunks.join('')).toBe(
      [
        'WARN [Search] could not reach the engine',
        // pino's serializer writes an error's causes' messages after its own (and the cause no more): one line.
        '  Error: could not reach the engine: connect ECONNREFUSED http://parvis:[redacted]@meili.example/',
        '  {"attempts":3,"password":"[redacted]"}',
        'ERROR reindex failed',
        '  Error: reindex failed: password authentication failed for postgres://parvis:[redacted]@db/parvis',
        'ERROR search:reindex failed',
        '',
      ].join('\n'),
    );
  });
});
