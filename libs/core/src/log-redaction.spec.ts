import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { HELD_SECRETS, ITEMS_WALKED, redacted, storedErrorText, VALUES_WALKED } from './log-redaction';

describe('redacted', () => {
  it("replaces a URL's password and a password parameter in text, and leaves the rest", () => {
    expect(redacted('Request to http://parvis:s3cret@meili.example:7700/health has failed')).toBe(
      'Request to http://parvis:[redacted]@meili.example:7700/health has failed',
    );
    expect(redacted('postgres://app:pa/ss@db/parvis and smtp://mail:pw@smtp.example')).toBe(
      'postgres://app:[redacted]@db/parvis and smtp://mail:[redacted]@smtp.example',
    );
    // A password with an unencoded `@`: the user's part ends at the last one, as a URL parser reads it.
    expect(redacted('Request to http://parvis:p@ss@meili.example/health has failed')).toBe('Request to http://parvis:[redacted]@meili.example/health has failed');
    // A user with an `@` of its own (an e-mail address, as SMTP_URL often has): the user's part runs to its first `:`.
    expect(redacted('smtp://me@example.com:pw1@smtp.example.com:587 refused')).toBe('smtp://me@example.com:[redacted]@smtp.example.com:587 refused');
    expect(redacted('postgres://db/parvis?sslmode=require&password=s3cret')).toBe('postgres://db/parvis?sslmode=require&password=[redacted]');
    expect(redacted('connect ECONNREFUSED 127.0.0.1:5432 (postgres://app@db:5432/parvis)')).toBe('connect ECONNREFUSED 127.0.0.1:5432 (postgres://app@db:5432/parvis)');
    // A parameter naming a secret, and a bracketed one, as a URLSearchParams's are (until 2026-12-07 only a URLSearchParams
    // redacted them).
    expect(redacted('https://h/x?client_secret=s2&user%5Bpassword%5D=s1&user[token]=s3')).toBe(
      'https://h/x?client_secret=[redacted]&user%5Bpassword%5D=[redacted]&user[token]=[redacted]',
    );
    // A bracketed name that is a secret whole (`pass`, `session`) percent-encoded, as a form post's logged query has it, as
    // unencoded (until 2026-12-07 the encoded one was read as `5Bpass`, and kept); not a name that merely ends in one.
    expect(redacted('POST /login?user%5Bpass%5D=hunter2&user%5bsession%5d=s4&user[pass]=s5&a%5Bbypass%5D=1')).toBe(
      'POST /login?user%5Bpass%5D=[redacted]&user%5bsession%5d=[redacted]&user[pass]=[redacted]&a%5Bbypass%5D=1',
    );
  });

  // A path made of a URL-like argument (`--out s3://key:pw@bucket/x` resolved: Node's path module makes its `//` one `/`)
  // is printed in the refusal that names it; until 2026-12-07 its password was not recognised there.
  it("replaces the password of a URL whose `//` a path's resolution made one `/`", () => {
    expect(redacted(`expected a file in an existing folder (${resolve('s3://key:pw-s3@bucket.example/exports/x.csv')} does not exist)`)).toBe(
      `expected a file in an existing folder (${process.cwd()}/s3:/key:[redacted]@bucket.example/exports/x.csv does not exist)`,
    );
    expect(redacted('/srv/parvis/postgres:/app:pw@db/parvis')).toBe('/srv/parvis/postgres:/app:[redacted]@db/parvis');
    // A drive letter, a path with a colon: no user, no password.
    expect(redacted('C:/Users/me:home@work and a:/b/c:d@e')).toBe('C:/Users/me:home@work and a:/b/c:d@e');
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
    const out = redacted(err);
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
    expect(redacted(plain)).toBe(plain);
  });

  it('reads errors and plain objects of another realm (a cause thrown by Node\'s fetch, seen from a test\'s modules)', () => {
    const cause = runInNewContext(`new TypeError('Request cannot be constructed from a URL that includes credentials: http://u:s3cret@h/')`) as Error;
    const fields = runInNewContext(`({ url: 'http://u:s3cret@h/' })`) as { url: string };
    const out = redacted(Object.assign(new Error('failed', { cause }), { fields }));
    expect([(out.cause as Error).message, (out.cause as Error).stack, out.fields.url].join()).not.toContain('s3cret');
  });

  it('ends at a cycle, and keeps objects of other classes as they are', () => {
    const err = new Error('to http://u:p@h failed') as Error & { self?: unknown; body?: unknown };
    err.self = err;
    const body = new Map([['url', 'http://u:p@h']]);
    err.body = body;
    const out = redacted(err);
    expect(out.message).toBe('to http://u:[redacted]@h failed');
    expect(out.body).toBe(body);
    // The cycle leads back to the copy, not to the error that names the password.
    expect(out.self === out).toBe(true);
  });

  it('writes a URL object as its text, its password replaced; one without a password as its text too', () => {
    const url = new URL('https://parvis:url-pw@meili.example/indexes?token=t0k');
    expect(redacted({ engines: [url, new URL('http://meili.example/')] })).toEqual({
      engines: ['https://parvis:[redacted]@meili.example/indexes?token=[redacted]', 'http://meili.example/'],
    });
    expect(redacted(url)).toBe('https://parvis:[redacted]@meili.example/indexes?token=[redacted]');
    expect(url.href).toContain('url-pw');
  });

  it('walks nested objects and arrays, each copied only where something in it changed', () => {
    const kept = { id: 7, tags: ['a', 'b'] };
    const fields = { job: 'sync', engines: [{ name: 'meilisearch', url: 'http://u:deep-pw@meili/' }, kept], depth: { a: { b: { c: ['postgres://db/x?password=deep-pw'] } } } };
    const out = redacted(fields);
    expect(out).toEqual({
      job: 'sync',
      engines: [{ name: 'meilisearch', url: 'http://u:[redacted]@meili/' }, kept],
      depth: { a: { b: { c: ['postgres://db/x?password=[redacted]'] } } },
    });
    expect(out).not.toBe(fields);
    expect(out.engines[1]).toBe(kept);
    expect(JSON.stringify(fields)).toContain('deep-pw');
  });

  it("replaces a failed statement's parameters and the server's detail (rows' values), in an error, its causes and objects alike", () => {
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
      code: '23505',
      detail: 'Key (email)=(row-value@example.com) already exists.',
    });
    const err = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"', { cause: driverError }), {
      query: 'INSERT INTO users (email, password_hash) VALUES ($1, $2)',
      parameters: ['row-value@example.com', '$argon2id$v=19$hash'],
      driverError,
    });
    const out = redacted(err);
    expect(out).toMatchObject({ query: 'INSERT INTO users (email, password_hash) VALUES ($1, $2)', parameters: '[redacted]', driverError: { code: '23505', detail: '[redacted]' } });
    expect((out.cause as typeof driverError).detail).toBe('[redacted]');
    // One copy of the driver's error, whichever path reaches it.
    expect(out.cause).toBe(out.driverError);
    expect(JSON.stringify([out, out.cause, redacted({ nested: { parameters: ['row-value@example.com'] } })])).not.toMatch(/row-value|argon2/);
    expect(err.parameters[0]).toBe('row-value@example.com');
  });

  it('replaces fields named as secrets (password, token, appealToken, inviteToken) at any depth, in an object of another class too, leaving it as it was', () => {
    class Account {
      constructor(
        readonly name: string,
        readonly password: string,
      ) {}
    }
    const account = new Account('ada', 'field-pw');
    const err = Object.assign(new Error('sign-in refused'), { details: { extensions: { appealToken: 'appeal-1' } } });
    const out = redacted({ password: 'top-pw', a: { b: { token: 'tok-1', inviteToken: 'inv-1', password: null } }, err, account, accounts: [account] });
    expect(out).toMatchObject({
      password: '[redacted]',
      a: { b: { token: '[redacted]', inviteToken: '[redacted]', password: null } },
      err: { details: { extensions: { appealToken: '[redacted]' } } },
      account: { name: 'ada', password: '[redacted]' },
    });
    expect(out.accounts[0]).toBe(out.account);
    expect(JSON.stringify(out)).not.toMatch(/top-pw|tok-1|inv-1|appeal-1|field-pw/);
    expect(account.password).toBe('field-pw');
    expect(err.details.extensions.appealToken).toBe('appeal-1');
    // A class without such a field is kept as it is.
    const plain = new (class Engine {
      url = 'http://meili.example/';
    })();
    expect(redacted({ plain }).plain).toBe(plain);
  });

  // Such an object's copy held its other fields as they were: one leading back to it (a cycle) led to the original, its
  // secret with it, and a password in a field's object or text was kept; until 2026-12-07 (review of the change above).
  it('walks the fields of an object of another class holding a secret: a cycle leads to its copy, and what they hold is redacted too', () => {
    class Account {
      self?: Account;
      constructor(
        readonly name: string,
        readonly password: string,
        readonly options: object,
      ) {}
    }
    const account = new Account('ada', 'field-pw', { password: 'nested-pw', dsn: 'postgres://app:dsn-pw@db/parvis' });
    account.self = account;
    const out = redacted({ account, again: account });
    // Compared field by field: a failure's diff of a cyclic object could not be reported.
    expect(out.account instanceof Account).toBe(false);
    expect(out.account.self === out.account).toBe(true);
    expect(out.again === out.account).toBe(true);
    expect([out.account.name, out.account.password, out.account.options]).toEqual(['ada', '[redacted]', { password: '[redacted]', dsn: 'postgres://app:[redacted]@db/parvis' }]);
    expect(account.self === account).toBe(true);
    expect(account.password).toBe('field-pw');
  });

  // Only an object of another class with a secret field of its own was walked: one holding such an object (a session's
  // account) was kept as it was, the password in it written whole; until 2026-12-07.
  it('replaces a secret held by an object of another class inside one of another class with none of its own, keeping the one holding nothing as it is', () => {
    class Account {
      constructor(
        readonly name: string,
        readonly password: string,
      ) {}
    }
    class Session {
      self?: Session;
      constructor(
        readonly id: string,
        readonly account: Account,
        readonly meta: object,
      ) {}
    }
    const session = new Session('s-1', new Account('ada', 'held-pw'), { dsn: 'postgres://app:held-dsn-pw@db/parvis' });
    session.self = session;
    const out = redacted({ held: session });
    expect(out.held.self === out.held).toBe(true);
    expect([out.held.id, out.held.account.name, out.held.account.password, out.held.meta]).toEqual(['s-1', 'ada', '[redacted]', { dsn: 'postgres://app:[redacted]@db/parvis' }]);
    expect(session.account.password).toBe('held-pw');
    // Holding nothing to redact, it is kept as it is (its class, its toJSON).
    const clean = new Session('s-2', new Account('bob', null as unknown as string), { url: 'http://meili.example/' });
    expect(redacted({ clean }).clean).toBe(clean);
  });

  // A class's own fields walked, one holding something to redact was written as a plain copy of them all: what its
  // toJSON leaves out (an address, a hash) was written too, where JSON wrote only toJSON's; review of the change above.
  it("writes an object of another class with a toJSON, holding something to redact, as its toJSON's, redacted", () => {
    class Member {
      constructor(
        readonly name: string,
        readonly email: string,
        readonly link: object,
      ) {}
      toJSON(): object {
        return { name: this.name, link: this.link };
      }
    }
    const member = new Member('ada', 'ada@example.org', { url: 'https://u:member-pw@c.example/' });
    const out = JSON.stringify(redacted({ member }));
    expect(out).toBe(JSON.stringify({ member: { name: 'ada', link: { url: 'https://u:[redacted]@c.example/' } } }));
    expect(redacted({ member: new Member('bob', 'bob@example.org', {}) }).member).toBeInstanceOf(Member);
  });

  // An object of another class whose own fields were clean was kept as it was, and JSON then wrote what its toJSON gives,
  // never walked (a private field's password, a DSN's); a prototype getter named as a secret was read as it was, and a
  // toJSON giving its own object back became `{}`; until 2026-12-07.
  // A plain object's own toJSON was never called by the walk, so JSON wrote what it gives whole; until 2026-12-07 (a reader
  // of the change above). An error's is still not walked (under `err` pino's error serializer reads its fields instead).
  it("walks what a plain object's own toJSON gives, as JSON writes it", () => {
    const plain = { a: 1, toJSON: () => ({ password: 'leak-pw', dsn: 'postgres://u:leak-pw@h/db' }) };
    expect(JSON.stringify(redacted({ plain }))).toBe(JSON.stringify({ plain: { password: '[redacted]', dsn: 'postgres://u:[redacted]@h/db' } }));
    // Nothing in what it gives to redact: kept as it is.
    const clean = { a: 1, toJSON: () => ({ id: 1 }) };
    expect(redacted({ clean }).clean).toBe(clean);
  });

  it("walks what the toJSON of an object of another class gives, its own fields clean; redacts a prototype getter named as a secret", () => {
    class Connection {
      readonly #pw: string;
      constructor(pw: string) {
        this.#pw = pw;
      }
      toJSON(): object {
        return { password: this.#pw, dsn: `postgres://a:${this.#pw}@h/db` };
      }
    }
    class Pooled extends Connection {}
    const out = redacted({ conn: new Connection('priv-pw'), pooled: new Pooled('inherited-pw') });
    expect(JSON.stringify(out)).toBe(JSON.stringify({ conn: { password: '[redacted]', dsn: 'postgres://a:[redacted]@h/db' }, pooled: { password: '[redacted]', dsn: 'postgres://a:[redacted]@h/db' } }));
    // Nothing in what it gives changed: kept as it is.
    class Clean {
      toJSON(): object {
        return { id: 1 };
      }
    }
    const clean = new Clean();
    expect(redacted({ clean }).clean).toBe(clean);
    // A toJSON that throws: the line is written, the object not.
    const throwing = new (class Throwing {
      toJSON(): never {
        throw new Error('no');
      }
    })();
    expect(redacted({ throwing })).toEqual({ throwing: '[redacted: unreadable]' });
    // A Date keeps being a Date.
    const at = new Date(0);
    expect(redacted({ at }).at).toBe(at);
    class Holder {
      constructor(readonly name: string) {}
      get password(): string {
        return 'getter-pw';
      }
    }
    Object.defineProperty(Holder.prototype, 'password', { enumerable: true });
    const holder = new Holder('ada');
    const held = redacted({ holder }).holder;
    expect(held.password).toBe('[redacted]');
    expect(held.name).toBe('ada');
    const written: string[] = [];
    for (const key in held) written.push(`${key}=${String((held as unknown as Record<string, unknown>)[key])}`);
    expect(written.join()).not.toContain('getter-pw');
    expect(holder.password).toBe('getter-pw');
  });

  it("redacts a secret getter of an object's class and of its class's parent, keeping its other fields", () => {
    class Base {
      get apiKey(): string {
        return 'grand-getter-key';
      }
    }
    class Middle extends Base {}
    class Account extends Middle {
      constructor(readonly name: string) {
        super();
      }
      get password(): string {
        return 'proto-getter-pw';
      }
    }
    const account = new Account('ada');
    const out = redacted({ account, again: new Account('bob') });
    expect([out.account.name, out.account.password, out.account.apiKey, out.again.name, out.again.password, out.again.apiKey]).toEqual([
      'ada',
      '[redacted]',
      '[redacted]',
      'bob',
      '[redacted]',
      '[redacted]',
    ]);
    expect(JSON.stringify(out)).not.toMatch(/proto-getter-pw|grand-getter-key/);
    expect(account.password).toBe('proto-getter-pw');
  });

  // A secret getter of a parent class shadowed nearer the object (a subclass's method of the same name, a field of a
  // prototype that is no class's) was read through the object and replaced all the same, though what the object holds
  // there is no secret (a method JSON leaves out): the object was copied for nothing; until 2026-12-07.
  it('keeps an object whose secret getter of a parent is shadowed nearer it by a method, as JSON would write it', () => {
    class Base {
      get token(): string {
        return 'shadowed-getter-tok';
      }
    }
    class Visitor extends Base {
      constructor(readonly id: string) {
        super();
      }
    }
    // A method of the subclass named as the getter (defined so: TypeScript refuses a method overriding an accessor).
    Object.defineProperty(Visitor.prototype, 'token', { value: () => 'a method', writable: true, configurable: true });
    const visitor = new Visitor('v-1');
    expect(redacted({ visitor }).visitor).toBe(visitor);
    // The same through prototypes that are no classes': the nearer one's method shadows the farther one's getter.
    const far = Object.defineProperty({}, 'password', { get: () => 'far-getter-pw', enumerable: true });
    const near = Object.create(far, { password: { value: () => 'a method', enumerable: false } }) as object;
    const options = Object.assign(Object.create(near) as object, { user: 'ada' });
    expect(redacted({ options }).options).toBe(options);
    // Not shadowed, the getter is still replaced.
    const open = Object.assign(Object.create(far) as object, { user: 'ada' });
    expect(JSON.stringify(redacted({ open }))).not.toContain('far-getter-pw');
  });

  // Each object of a class had its prototypes' names read again (twice: once for the secret getters, once for each one's
  // descriptor); until 2026-12-07 (final read). A prototype's names are read once, whatever number of its objects is logged.
  it("reads a prototype's names once, however many of its objects are logged", () => {
    class Holder {
      constructor(readonly id: number) {}
      get token(): string {
        return 'counted-tok';
      }
    }
    const names = jest.spyOn(Object, 'getOwnPropertyNames');
    try {
      const holders = [1, 2, 3].map((id) => new Holder(id));
      const out = redacted({ holders });
      expect(out.holders.map((h) => [h.id, h.token])).toEqual([
        [1, '[redacted]'],
        [2, '[redacted]'],
        [3, '[redacted]'],
      ]);
      expect(redacted(holders[0]).token).toBe('[redacted]');
      expect(names.mock.calls.filter(([of]) => of === Holder.prototype)).toHaveLength(1);
    } finally {
      names.mockRestore();
    }
  });

  // A chain's names were kept for its first prototype whatever that was (the branch's first cut, never on main): an
  // object made with Object.create(defaults), logged before `defaults` had a password, had it written whole after.
  it("reads again the chain of an object whose prototype is no class's, which may get a secret later", () => {
    const defaults: Record<string, unknown> = { host: 'db' };
    const options = Object.assign(Object.create(defaults) as Record<string, unknown>, { user: 'ada' });
    const first = { options };
    expect(redacted(first)).toBe(first);
    defaults.password = 'late-default-pw';
    expect(JSON.stringify(redacted({ options }))).not.toContain('late-default-pw');
    expect(redacted({ options }).options.password).toBe('[redacted]');
  });

  it('makes a toJSON giving back its own object a cycle to the copy', () => {
    class Self {
      toJSON(): object {
        return { self: this, token: 'self-tok' };
      }
    }
    const out = redacted({ s: new Self() }).s as unknown as { self: unknown; token: string };
    expect(out.token).toBe('[redacted]');
    expect(out.self === out).toBe(true);
  });

  // Walked as any object of another class, a response whose request's URL had a `?token=` became a plain copy, which
  // pino-http's serializer wrote without its status (read through its prototype's getters); review of the change above.
  it("keeps Node's machinery (a request, a response, a socket) as it is, unless a secret field is its own", () => {
    const req = new IncomingMessage(new Socket());
    req.url = '/unsubscribe?token=req-tok';
    const res = new ServerResponse(req);
    const out = redacted({ req, res });
    expect(out.req).toBe(req);
    expect(out.res).toBe(res);
    const emitter = Object.assign(new EventEmitter(), { token: 'emitter-tok' });
    expect(JSON.stringify(redacted({ emitter }))).not.toContain('emitter-tok');
  });

  // A URLSearchParams is no URL: `%s` prints its text (`token=…`) and the walker kept it as it was; until 2026-12-07.
  it("writes a URLSearchParams as its text, a token parameter's value replaced", () => {
    const params = new URLSearchParams({ kind: 'digest', token: 'qs-tok' });
    expect(redacted(params) as unknown).toBe('kind=digest&token=[redacted]');
    expect(redacted({ query: params })).toEqual({ query: 'kind=digest&token=[redacted]' });
    expect(params.get('token')).toBe('qs-tok');
  });

  // Its text was `toString()`'s, then the text's parameter pattern's, which missed an encoded `user%5Bpassword%5D=`, a
  // `password_confirmation`, a `client_secret` and a `code`; until 2026-12-07.
  it('replaces the value of each URLSearchParams key naming a password, a token, a secret or a code', () => {
    const params = new URLSearchParams([
      ['user[password]', 'bracket-pw'],
      ['password_confirmation', 'confirm-pw'],
      ['client_secret', 'client-sec'],
      ['code', 'oauth-code'],
      ['next', '/a b'],
    ]);
    expect(redacted(params) as unknown).toBe('user%5Bpassword%5D=[redacted]&password_confirmation=[redacted]&client_secret=[redacted]&code=[redacted]&next=%2Fa+b');
  });

  // Three lists named secrets until 2026-12-07: a field was one of four names exactly (a `secret`, an `accessToken`, a
  // `currentPassword` went whole), and a URLSearchParams's key holding `code` anywhere had its value replaced.
  it("names secrets from one list: a name ending in password, token or secret anywhere, and a URLSearchParams's `code` whole", () => {
    const params = new URLSearchParams('postcode=12345&zipcode=999&errorCode=E42&code=oauth-code&password=qs-pw&access_token=qs-at');
    expect(redacted(params) as unknown).toBe('postcode=12345&zipcode=999&errorCode=E42&code=[redacted]&password=[redacted]&access_token=[redacted]');
    expect(redacted('postcode=12345 errorCode=E42 password=t-pw access_token=t-at password_confirmation=t-pc tokens=3')).toBe(
      'postcode=12345 errorCode=E42 password=[redacted] access_token=[redacted] password_confirmation=[redacted] tokens=3',
    );
    const fields = { errorCode: 'E42', code: '23505', postcode: '12345', maxTokens: 5, passwordHash: null, secret: 's', accessToken: 'a', currentPassword: 'c', client_secret: 'cs' };
    expect(redacted(fields)).toEqual({ ...fields, secret: '[redacted]', accessToken: '[redacted]', currentPassword: '[redacted]', client_secret: '[redacted]' });
    // A class's getter so named is read as a field; a method so named is none, and leaves the object as it is.
    class Session {
      constructor(readonly id: number) {}
      get refreshToken(): string {
        return 'getter-tok';
      }
    }
    class Tokens {
      readonly id = 1;
      verifyToken(): boolean {
        return true;
      }
    }
    const session = redacted(new Session(1));
    expect([session.id, session.refreshToken]).toEqual([1, '[redacted]']);
    const tokens = new Tokens();
    expect(redacted(tokens)).toBe(tokens);
  });

  // Until 2026-12-07 (SECRET_NAMES) none of these was a secret's name for a field, and a password hash, a `tokens` map
  // and an emitter's `appealToken` were no longer, after being one in a URLSearchParams or an emitter (review).
  it('replaces password hashes, API and master keys, authorization headers, cookies, sessions, private keys, credentials and one-time codes wherever named', () => {
    const fields = {
      passwordHash: '$argon2id$hash',
      password_hash: '$argon2id$row',
      token_hash: 'th',
      tokens: { alice: 'session-tok' },
      apiKey: 'ak',
      api_key: 'ak2',
      MEILI_MASTER_KEY: 'mk',
      headers: { authorization: 'Bearer b', cookie: 'parvis_session=c', 'set-cookie': ['s=c'] },
      session: { id: 's1' },
      sessionId: 'sid',
      privateKey: 'pk',
      credentials: { user: 'u' },
      clientSecret: 'cs',
      secretKey: 'sk',
      aws_secret_access_key: 'sak',
      refresh_token: 'rt',
      otp: '123456',
      auth: { user: 'mailer', pass: 'smtp-pw' },
      maxTokens: 5,
      keyset: 'k',
      cacheKey: 'ck',
    };
    const out = redacted(fields);
    const r = '[redacted]';
    expect(out).toEqual({
      passwordHash: r,
      password_hash: r,
      token_hash: r,
      tokens: r,
      apiKey: r,
      api_key: r,
      MEILI_MASTER_KEY: r,
      headers: { authorization: r, cookie: r, 'set-cookie': r },
      session: r,
      sessionId: r,
      privateKey: r,
      credentials: r,
      clientSecret: r,
      secretKey: r,
      aws_secret_access_key: r,
      refresh_token: r,
      otp: r,
      auth: { user: 'mailer', pass: r },
      maxTokens: 5,
      keyset: 'k',
      cacheKey: 'ck',
    });
    expect(redacted('passwordHash=h api_key=k apikey=k2 pass=p session=s parvis_session=c otp=1 tokens=2 sessions=3')).toBe(
      'passwordHash=[redacted] api_key=[redacted] apikey=[redacted] pass=[redacted] session=[redacted] parvis_session=[redacted] otp=[redacted] tokens=2 sessions=3',
    );
    // A URLSearchParams's key holding a password, a token or a secret anywhere, as before SECRET_NAMES (final read).
    const params = new URLSearchParams('passwordHash=h&apiKey=k&authorization=a&session=s&secret_key=sk&tokens=2&password2=p2&passwordConfirmation=pc&secretAnswer=sa&page=2');
    expect(redacted(params) as unknown).toBe(
      'passwordHash=[redacted]&apiKey=[redacted]&authorization=[redacted]&session=[redacted]&secret_key=[redacted]&tokens=[redacted]&password2=[redacted]&passwordConfirmation=[redacted]&secretAnswer=[redacted]&page=2',
    );
    const held = { masterKey: 'e-mk', secretKey: 'e-sk', secretAccessKey: 'e-sak', clientSecret: 'e-cs', tokenHash: 'e-th', sessionToken: 'e-st', apiToken: 'e-at' };
    const emitter = Object.assign(new EventEmitter(), { appealToken: 'emitter-appeal', apiKey: 'emitter-key' }, held);
    expect(JSON.stringify(redacted({ emitter }))).not.toMatch(/emitter-appeal|emitter-key|e-mk|e-sk|e-sak|e-cs|e-th|e-st|e-at/);
  });

  // The names an emitter's own fields are looked up by were a hand copy of SECRET_NAMES's in the spellings code uses:
  // `password_confirmation` had no `passwordConfirmation` (nor was that a field's secret name), `accessToken` no
  // `access_token`; until 2026-12-07 (final read). Names only in the failure's output, never the values.
  it('names each secret in camelCase and snake_case alike: a field, an emitter\'s own field', () => {
    const words = (name: string): string[] => name.split(/_|(?=[A-Z])/).filter((w) => w !== '').map((w) => w.toLowerCase());
    const camel = (name: string): string => words(name).map((w, i) => (i === 0 ? w : `${w[0].toUpperCase()}${w.slice(1)}`)).join('');
    const snake = (name: string): string => words(name).join('_');
    const forms = [...new Set(HELD_SECRETS.flatMap((name) => [name, camel(name), snake(name)]))];
    expect(forms.filter((name) => !HELD_SECRETS.includes(name))).toEqual([]);
    const notRedacted = forms.filter((name) => {
      const field = (redacted({ [name]: 'spelled-value' }) as Record<string, unknown>)[name];
      const emitter = (redacted({ emitter: Object.assign(new EventEmitter(), { [name]: 'spelled-value' }) }).emitter as unknown as Record<string, unknown>)[name];
      return field !== '[redacted]' || emitter !== '[redacted]';
    });
    expect(notRedacted).toEqual([]);
  });

  // A header's name spells a secret's in kebab-case (`x-api-key`, `session-id`), as an HTTP client's error's request
  // headers hold them: written whole until 2026-12-07, the names read in camelCase, snake_case and lower case only.
  it("replaces a field named as a secret in kebab-case, a header's, keeping the others", () => {
    const headers = { 'x-api-key': 'kebab-1', 'x-secret-key': 'kebab-2', 'session-id': 'kebab-3', 'private-key': 'kebab-4', 'x-master-key': 'kebab-5', 'x-request-id': 'kept-1', 'content-type': 'kept-2' };
    expect(redacted({ headers }).headers).toEqual({
      'x-api-key': '[redacted]',
      'x-secret-key': '[redacted]',
      'session-id': '[redacted]',
      'private-key': '[redacted]',
      'x-master-key': '[redacted]',
      'x-request-id': 'kept-1',
      'content-type': 'kept-2',
    });
    const emitter = Object.assign(new EventEmitter(), { 'api-key': 'kebab-6' });
    expect(JSON.stringify(redacted({ emitter }))).not.toContain('kebab-6');
  });

  // In text a parameter's name was read as a word of letters, digits and `_`: a kebab-case one (`api-key=`, a header
  // quoted as a parameter, `?x-api-key=` in a URL) was read from its last `-`, `key`, and its value kept, where `api_key=`
  // and `apiKey=` were replaced; until 2026-12-07.
  it('replaces a parameter in text named as a secret in kebab-case, keeping names that merely hold a secret word', () => {
    expect(redacted('curl -d api-key=kebab-t1 https://h.example/x?x-api-key=kebab-t2&session-id=kebab-t3&mode=1 --private-key=kebab-t4')).toBe(
      'curl -d api-key=[redacted] https://h.example/x?x-api-key=[redacted]&session-id=[redacted]&mode=1 --private-key=[redacted]',
    );
    expect(redacted('MEILI-MASTER-KEY="kebab t5" then client-secret=kebab-t6')).toBe('MEILI-MASTER-KEY=[redacted] then client-secret=[redacted]');
    const kept = 'x-request-id=r1&content-type=json&token-count=5&api-key-id=7&secret-santa=yes&max-tokens=9&pass-through=on&session-count=3';
    expect(redacted(kept)).toBe(kept);
  });

  // Read with its dashes, a name ending in `-pass` or `-session` (a command line's `--pass=`, `--db-pass=`, a header's
  // `x-session=`) was no longer `pass` or `session`, and its value kept, where the name read from its last `-` had been
  // replaced; for a while on 2026-12-07, as kebab-case names came to be read whole.
  it('replaces a parameter in text whose kebab-case name ends in pass or session, as a command-line flag or a header', () => {
    expect(redacted('smtp-cli --pass=flag-1 --session=flag-2 -pass=flag-3 --db-pass=flag-4 x-session=flag-5&by-pass=flag-6')).toBe(
      'smtp-cli --pass=[redacted] --session=[redacted] -pass=[redacted] --db-pass=[redacted] x-session=[redacted]&by-pass=[redacted]',
    );
    expect(redacted({ 'x-session': 'flag-7', 'session-count': 3 })).toEqual({ 'x-session': '[redacted]', 'session-count': 3 });
  });

  // A form's bracketed key (a logged body's or query's) named a secret only by an ending: `user[password]` was one, but
  // `user[pass]`, `user[session]`, `user[tokens]`, whose plain names are secrets whole, went as they were, as fields and
  // as a URLSearchParams's keys (`user[code]` too); until 2026-12-07. Names only in the failure's output.
  it("replaces a form's bracketed field or parameter as its plain name's, not one merely ending so", () => {
    const secret = ['user[pass]', 'user[password]', 'credentials[token]', 'user[session]', 'a[b][pass]', 'user%5Bpass%5D', 'user[tokens]', 'USER[PASS]'];
    const kept = ['a[bypass]', 'user[name]', 'user[maxTokens]', 'pass[word]', 'user[code]'];
    const fields = redacted(Object.fromEntries([...secret, ...kept].map((key) => [key, 'form-value']))) as Record<string, unknown>;
    expect(secret.filter((key) => fields[key] !== '[redacted]')).toEqual([]);
    expect(kept.filter((key) => fields[key] !== 'form-value')).toEqual([]);
    const params = new URLSearchParams([...secret, 'user[code]', 'a[postcode]'].map((key): [string, string] => [key, 'form-value']));
    const text = redacted(params) as unknown as string;
    expect(
      text
        .split('&')
        .filter((part) => part.endsWith('form-value'))
        .map((part) => decodeURIComponent(part.split('=')[0])),
    ).toEqual(['a[postcode]']);
  });

  // A parameter's name percent-encoded in a query string (`user%5Bmy%20pass%5D=`, a form's `user[my pass]`, as a
  // URLSearchParams writes it `user%5Bmy+pass%5D=`; an encoded `-`, `api%2Dkey=`) was read from its last `%` on, `20pass`,
  // `2Dkey`, and its value kept; until 2026-12-07. The name is decoded for the check; a malformed `%` does not stop it.
  it('decodes a parameter name percent-encoded in text for the check, a malformed one too, keeping names that merely hold a secret word', () => {
    expect(redacted('?user%5Bmy%20pass%5D=enc-1&user%5Bmy+pass%5D=enc-2&api%2Dkey=enc-3&user%5Bapi%20key%5D=enc-4&user%5Bcode%5D=enc-5&user[wifi+pass]=enc-6')).toBe(
      '?user%5Bmy%20pass%5D=[redacted]&user%5Bmy+pass%5D=[redacted]&api%2Dkey=[redacted]&user%5Bapi%20key%5D=[redacted]&user%5Bcode%5D=[redacted]&user[wifi+pass]=[redacted]',
    );
    // Malformed sequences (`%ZZ`, a `%` ending the name, a lone half of a UTF-8 character): read as they are, the rest decoded.
    expect(redacted('?a%ZZ%5Bpass%5D=bad-1&100%%20password=bad-2&x%E2%82%5Bsession%5D=bad-3&%C3%A9t%C3%A9%5Bpass%5D=utf-4')).toBe(
      '?a%ZZ%5Bpass%5D=[redacted]&100%%20password=[redacted]&x%E2%82%5Bsession%5D=[redacted]&%C3%A9t%C3%A9%5Bpass%5D=[redacted]',
    );
    const kept = '?user%5Bbypass%5D=k1&user%5Bpassport%5D=k2&zip%20code=k3&user%5Bzip+code%5D=k4&max%20tokens=k5&pass%20through=k6&a%2Bb=k7&50%25=k8&user%5Bmy%2pass%5D=k9';
    expect(redacted(kept)).toBe(kept);
    // A URLSearchParams's key is decoded already: named so, it is one too.
    expect(redacted(new URLSearchParams([['user[my pass]', 'enc-7'], ['user[bypass]', 'k10']])) as unknown).toBe('user%5Bmy+pass%5D=[redacted]&user%5Bbypass%5D=k10');
    // As a field's name too.
    expect(redacted({ 'my pass': 'enc-8', 'max tokens': 'k11', 'zip code': 'k12' })).toEqual({ 'my pass': '[redacted]', 'max tokens': 'k11', 'zip code': 'k12' });
  });

  // A form's array key (`password[]`, `user[password][]`, as a body parser or qs names a repeated field) named no secret,
  // the `[]` after the name keeping it from matching, in text, as a field and as a URLSearchParams's key; until 2026-12-07.
  it("replaces a form's array field or parameter named as a secret ([] after its name), not one merely ending so", () => {
    expect(redacted('?password[]=arr-v1&user[password][]=arr-v2&user%5Bpass%5D%5B%5D=arr-v3&token%5B%5D=arr-v4&a[bypass][]=kept&code[]=arr-v5')).toBe(
      '?password[]=[redacted]&user[password][]=[redacted]&user%5Bpass%5D%5B%5D=[redacted]&token%5B%5D=[redacted]&a[bypass][]=kept&code[]=[redacted]',
    );
    const secret = ['password[]', 'user[password][]', 'user[pass][]', 'tokens[]', 'user%5Bpass%5D%5B%5D'];
    const kept = ['a[bypass][]', 'user[name][]', 'pass[]x'];
    const fields = redacted(Object.fromEntries([...secret, ...kept].map((key) => [key, 'form-value']))) as Record<string, unknown>;
    expect(secret.filter((key) => fields[key] !== '[redacted]')).toEqual([]);
    expect(kept.filter((key) => fields[key] !== 'form-value')).toEqual([]);
    const text = redacted(new URLSearchParams([['user[pass][]', 'form-value'], ['a[bypass][]', 'form-value']])) as unknown as string;
    expect(text).toBe('user%5Bpass%5D%5B%5D=[redacted]&a%5Bbypass%5D%5B%5D=form-value');
  });

  // An array of any length was walked whole (200,000 objects in one: 1.2 s); until 2026-12-07.
  it('walks at most ITEMS_WALKED items of an array and fields of an object, saying how many more there were', () => {
    const items = Array.from({ length: ITEMS_WALKED + 5 }, (_, i) => (i === 0 ? 'postgres://a:arr-pw@db/x' : i));
    const out = redacted(items);
    expect(out).toHaveLength(ITEMS_WALKED + 1);
    expect(out[0]).toBe('postgres://a:[redacted]@db/x');
    expect(out[ITEMS_WALKED - 1]).toBe(ITEMS_WALKED - 1);
    expect(out[ITEMS_WALKED]).toBe('[… 5 more items]');
    // One no longer than the cap, holding nothing to redact, is kept as it is.
    const short = items.slice(1, ITEMS_WALKED + 1);
    expect(redacted(short)).toBe(short);
    const fields = Object.fromEntries(Array.from({ length: ITEMS_WALKED + 3 }, (_, i) => [`f${i}`, i]));
    const outFields = redacted(fields);
    expect(Object.keys(outFields)).toHaveLength(ITEMS_WALKED + 1);
    expect(outFields[`f${ITEMS_WALKED - 1}`]).toBe(ITEMS_WALKED - 1);
    expect(outFields['…']).toBe('3 more fields');
  });

  // Each array within ITEMS_WALKED, many of them still made a walk without bound (review of the cap above); and within
  // 10,000 objects, their fields did (10 arrays of 1,000 objects of 1,000 strings: 1.8 s; review of that bound); and
  // counting strings and objects, numbers did (10 arrays of 1,000 objects of 1,000 numbers: seconds); until 2026-12-07.
  it('visits at most VALUES_WALKED items, fields and objects in one call, counting what lies past them', () => {
    const rows = Array.from({ length: 200 }, (_, r) => Array.from({ length: ITEMS_WALKED }, (_, i) => `s${r}.${i}`));
    const out = redacted(rows);
    // The outer array counts 1; each row 1 as its item, 1 entered, 1 each of its items: 99 rows whole (1 + 99 x 1,002).
    expect(out[98]).toBe(rows[98]);
    const partial = VALUES_WALKED - 1 - 99 * (ITEMS_WALKED + 2) - 2;
    expect(out[99]).toEqual([...rows[99].slice(0, partial), `[… ${ITEMS_WALKED - partial} more items]`]);
    expect(out).toHaveLength(101);
    expect(out[100] as unknown).toBe('[… 100 more items]');
    // Numbers count as strings do, fields as items do.
    const objects = Array.from({ length: 200 }, (_, r) => Object.fromEntries(Array.from({ length: ITEMS_WALKED }, (_, i) => [`f${i}`, r + i])));
    const outObjects = redacted(objects) as unknown[];
    expect(outObjects[98]).toBe(objects[98]);
    expect((outObjects[99] as Record<string, unknown>)['…']).toBe(`${ITEMS_WALKED - partial} more fields`);
    expect(outObjects).toHaveLength(101);
    expect(outObjects[100]).toBe('[… 100 more items]');
  });

  it('puts a marker in place of an object reached as VALUES_WALKED runs out, the items after it counted', () => {
    const rows = Array.from({ length: 200 }, () => Array.from({ length: ITEMS_WALKED }, () => ({})));
    const out = redacted(rows) as unknown[][];
    // The outer array counts 1; each row 2, and 2 each of its objects (its item, it entered): 49 rows whole.
    expect(out[48]).toBe(rows[48]);
    // Row 49, entered with the count at 1 + 49 x 2,002 + 2: its objects are walked until it stands at VALUES_WALKED - 1;
    // the next, counted as an item, is not entered.
    const reached = (VALUES_WALKED - 1 - (1 + 49 * (2 * ITEMS_WALKED + 2) + 2)) / 2;
    expect(out[49][reached - 1]).toBe(rows[49][reached - 1]);
    expect(out[49].slice(reached)).toEqual(['[redacted: too much to walk]', `[… ${ITEMS_WALKED - reached - 1} more items]`]);
    expect(out.slice(50)).toEqual([`[… ${200 - 50} more items]`]);
  });

  it('writes at most ITEMS_WALKED parameters of a URLSearchParams, saying how many more there were', () => {
    const params = new URLSearchParams(Array.from({ length: ITEMS_WALKED + 2 }, (_, i): [string, string] => [`p${i}`, i === ITEMS_WALKED - 1 ? 'a:/u:pw@h' : `${i}`]));
    const text = redacted(params) as unknown as string;
    expect(text.split('&')).toHaveLength(ITEMS_WALKED + 1);
    expect(text).toMatch(new RegExp(`&p${ITEMS_WALKED - 1}=a%3A%2Fu%3A%5Bredacted%5D%40h&\\[… 2 more parameters\\]$`));
  });

  // An error's cause need not be an error: a driver or a library may give a string, or an object, that names the
  // connection it could not make. libpq's keyword=value form names a password as no URL does; until 2026-12-07 it was kept.
  it("replaces a password in a cause that is no error (a string, an object), a connection string's keyword=value form too", () => {
    const text = new Error('could not connect', { cause: "host=db.example user=app password=dsn-pw dbname=parvis" });
    expect(redacted(text).cause).toBe('host=db.example user=app password=[redacted] dbname=parvis');
    const object = new Error('could not connect', { cause: { conninfo: "host=db PGPASSWORD='dsn pw' sslmode=require", options: { password: 'obj-pw' } } });
    expect(redacted(object).cause).toEqual({ conninfo: 'host=db PGPASSWORD=[redacted] sslmode=require', options: { password: '[redacted]' } });
    expect(redacted('access_token=tok-1&tokens=2 db_password=pw x')).toBe('access_token=[redacted]&tokens=2 db_password=[redacted] x');
  });

  // Quoted in double quotes (a shell's or an env file's `PGPASSWORD="…"`), a password with a space was cut at it, and
  // its rest kept: until 2026-12-07 (review of the change above).
  it('replaces a password quoted in double quotes whole, a space in it', () => {
    expect(redacted('export PGPASSWORD="dq pw" && psql')).toBe('export PGPASSWORD=[redacted] && psql');
    expect(redacted('conninfo: host=db password="a \\" b" port=5432')).toBe('conninfo: host=db password=[redacted] port=5432');
  });

  // A quoted password inside JSON text (a line's field holding a message, a stored error's text) has its quotes escaped:
  // the unquoted branch stopped at the space and the rest was kept; until 2026-12-07 (review of the change above).
  it('replaces a password whose quotes are JSON-escaped whole, a space and an escaped quote in it', () => {
    const json = JSON.stringify({ msg: 'conninfo: host=db password="two words" port=5432' });
    expect(redacted(json)).toBe(JSON.stringify({ msg: 'conninfo: host=db password=[redacted] port=5432' }));
    const quoted = JSON.stringify({ msg: 'password="a \\" b" port=5432' });
    expect(redacted(quoted)).not.toMatch(/\bb\b/);
    expect(redacted(quoted)).toContain('port=5432');
  });

  // A quote never closed on its line read on to the next quote, later lines of a start failure's text swallowed with
  // it; until 2026-12-07 (review of the change above). The value on its line is still replaced.
  it('reads a quoted password no further than its line', () => {
    const text = 'could not connect: password="unclosed pw\n  caused by: connect ECONNREFUSED "db" 5432';
    const out = redacted(text);
    expect(out).toContain('\n  caused by: connect ECONNREFUSED "db" 5432');
    expect(out).not.toContain('unclosed');
  });

  it("follows an error's causes, however many, and an AggregateError's errors", () => {
    let err: Error = new Error('innermost: http://u:cause-pw@h/');
    for (let i = 0; i < 12; i++) err = new Error(`level ${i}`, { cause: err });
    const out = redacted(new AggregateError([err, new Error('plain')], 'several failed'));
    const messages: string[] = [];
    for (let e: unknown = out.errors[0]; e; e = (e as Error).cause) messages.push(typeof e === 'string' ? e : (e as Error).message);
    expect(messages.join('\n')).not.toContain('cause-pw');
  });

  it("replaces a link's token parameter in text (reset, verification, invite, unsubscribe links), and leaves other parameters", () => {
    expect(redacted('could not send https://community.example/reset-password?token=u1.1796000000.abcDEF_- to someone')).toBe(
      'could not send https://community.example/reset-password?token=[redacted] to someone',
    );
    expect(redacted('https://c.example/unsubscribe?kind=digest&token=s3cret-token&x=1 and ?tokens=2')).toBe('https://c.example/unsubscribe?kind=digest&token=[redacted]&x=1 and ?tokens=2');
  });

  // A URL's `?code=` (an OAuth authorization code, a one-time code) was kept in text and in a URL object, as `code=` is a
  // SQLSTATE's in other text; until 2026-12-07. Only a query string's (after `?` or `&`) is replaced.
  it("replaces a URL's code, token and password parameters, in text and in a URL object; keeps a code= of other text", () => {
    expect(redacted('GET /auth/callback?code=qs-code-1&state=s1 200 and https://c.example/verify?kind=otp&code=qs-code-2&token=qs-tok&password=qs-pw')).toBe(
      'GET /auth/callback?code=[redacted]&state=s1 200 and https://c.example/verify?kind=otp&code=[redacted]&token=[redacted]&password=[redacted]',
    );
    expect(redacted(new URL('https://c.example/auth/callback?code=url-code&state=s2&token=url-tok&password=url-pw')) as unknown).toBe(
      'https://c.example/auth/callback?code=[redacted]&state=s2&token=[redacted]&password=[redacted]',
    );
    expect(redacted({ url: '/auth/callback?state=s3&code=field-code' })).toEqual({ url: '/auth/callback?state=s3&code=[redacted]' });
    expect(redacted('insert failed: code=23505 errorCode=E42 ?postcode=12345&zipcode=9')).toBe('insert failed: code=23505 errorCode=E42 ?postcode=12345&zipcode=9');
  });

  // A URL's fragment (`#code=`, `#access_token=…&code=`, as an OAuth implicit or hybrid flow's redirect carries them) had
  // its `code=` kept, only a query string's being read as one; until 2026-12-07.
  it("replaces a URL fragment's code parameter, in text and in a URL object; keeps a fragment's other parameters", () => {
    expect(redacted('redirected to https://c.example/auth/callback#code=frag-code-1&state=s1 then /cb#state=s2&code=frag-code-2')).toBe(
      'redirected to https://c.example/auth/callback#code=[redacted]&state=s1 then /cb#state=s2&code=[redacted]',
    );
    expect(redacted(new URL('https://c.example/cb?x=1#code=frag-code-3&access_token=frag-tok')) as unknown).toBe('https://c.example/cb?x=1#code=[redacted]&access_token=[redacted]');
    const kept = 'https://c.example/docs#postcode=1 and #errorcode=2, /cb#zipcode=3&state=s3';
    expect(redacted(kept)).toBe(kept);
  });

  it("keeps the text an error is stored with (a queue's last_error) without passwords, cut after they are replaced", () => {
    const err = new Error(`Request to http://parvis:${'x'.repeat(40)}@meili.example/indexes has failed`);
    expect(storedErrorText(err, 1000)).toBe('Request to http://parvis:[redacted]@meili.example/indexes has failed');
    // Cut first, the password would lose the '@' that marks it and stay.
    expect(storedErrorText(err, 40)).toBe('Request to http://parvis:[redacted]@meil');
    expect(storedErrorText('postgres://a:b@c/d', 100)).toBe('postgres://a:[redacted]@c/d');
    // A value that cannot be read (a revoked Proxy, a message getter that throws): stored as such, never a throw (until
    // 2026-12-07 messageOf threw there, and its callers each wrapped it).
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(storedErrorText(proxy, 100)).toBe('(unreadable)');
    const getter = Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('no'); } });
    expect(storedErrorText(getter, 100)).toBe('(unreadable)');
  });
});
