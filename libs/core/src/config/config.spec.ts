import { availableParallelism } from 'node:os';
import { AUTO_API_WORKERS_MAX, ConfigError, loadConfig } from './config';

describe('PUBLIC_URL (links in e-mails, and the domain of the Message-IDs Parvis gives)', () => {
  it('takes an http(s) URL, with a port, a path or an IPv6 host', () => {
    for (const url of ['https://forum.example.org/', 'http://localhost:3000', 'https://example.org/parvis', 'http://[::1]:3000']) {
      expect(loadConfig({ PUBLIC_URL: url }).publicUrl).toBe(url.replace(/\/$/, ''));
    }
  });

  it('refuses, when the configuration loads, one that starts as a URL but is none (no host, a space in it)', () => {
    for (const url of ['https://', 'http://exa mple.org', 'https://[forum', 'ftp://example.org']) {
      expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL: url })).toThrow(/PUBLIC_URL/);
    }
  });
});

describe('DB_CONNECTION_TIMEOUT_MS (how long a statement waits for a pool connection)', () => {
  it('is 10 s unless set, and takes whole milliseconds from 100 to 600000', () => {
    expect(loadConfig({}).DB_CONNECTION_TIMEOUT_MS).toBe(10_000);
    expect(loadConfig({ DB_CONNECTION_TIMEOUT_MS: '500' }).DB_CONNECTION_TIMEOUT_MS).toBe(500);
  });

  it('refuses no limit (0), a value too small or too large, and what is no number, naming the variable', () => {
    for (const value of ['0', '99', '600001', '1e4', 'soon']) {
      expect(() => loadConfig({ DB_CONNECTION_TIMEOUT_MS: value })).toThrow(/DB_CONNECTION_TIMEOUT_MS/);
    }
  });
});

describe('JOB_LOCK_TIMEOUT_MS (how long the job-lock connection may leave a statement unanswered)', () => {
  it('is 10 s unless set, takes whole milliseconds from 100 to 600000, and refuses anything else, naming the variable', () => {
    expect(loadConfig({}).JOB_LOCK_TIMEOUT_MS).toBe(10_000);
    expect(loadConfig({ JOB_LOCK_TIMEOUT_MS: '250' }).JOB_LOCK_TIMEOUT_MS).toBe(250);
    for (const value of ['0', '99', '600001', 'soon']) expect(() => loadConfig({ JOB_LOCK_TIMEOUT_MS: value })).toThrow(/JOB_LOCK_TIMEOUT_MS/);
  });
});

describe('DB_POOL_SIZE (connections per process)', () => {
  const external = 'postgres://parvis@localhost/parvis';
  const refusal = /DB_POOL_SIZE: must be at least 2 in a process that runs the outbox worker/;

  it('refuses a pool of one where the API runs the outbox worker: by default with the embedded database, or WORKER_IN_PROCESS=true', () => {
    expect(() => loadConfig({ DB_POOL_SIZE: '1' })).toThrow(refusal);
    expect(() => loadConfig({ DB_POOL_SIZE: '1', DATABASE_URL: external, WORKER_IN_PROCESS: 'true' })).toThrow(refusal);
    expect(() => loadConfig({ DB_POOL_SIZE: '1', WORKER_IN_PROCESS: 'false' })).not.toThrow();
  });

  it('refuses it in the worker process whatever WORKER_IN_PROCESS says, and takes it in a process that runs no worker (an API without it, the CLI)', () => {
    expect(() => loadConfig({ DB_POOL_SIZE: '1', DATABASE_URL: external, WORKER_IN_PROCESS: 'false' }, { outboxWorker: true })).toThrow(refusal);
    expect(loadConfig({ DB_POOL_SIZE: '1', DATABASE_URL: external }).DB_POOL_SIZE).toBe(1);
    expect(loadConfig({ DB_POOL_SIZE: '1' }, { outboxWorker: false }).DB_POOL_SIZE).toBe(1);
  });

  it('takes two wherever the worker runs, and still names a value of the wrong kind as such, once', () => {
    expect(loadConfig({ DB_POOL_SIZE: '2' }).DB_POOL_SIZE).toBe(2);
    expect(loadConfig({ DB_POOL_SIZE: '2', DATABASE_URL: external }, { outboxWorker: true }).DB_POOL_SIZE).toBe(2);
    expect(() => loadConfig({ DB_POOL_SIZE: '0' })).toThrow(/^Invalid configuration:\n {2}DB_POOL_SIZE: DB_POOL_SIZE must not be less than 1$/);
    expect(() => loadConfig({ DB_POOL_SIZE: 'one' })).toThrow(/^Invalid configuration:\n {2}DB_POOL_SIZE: DB_POOL_SIZE must be an integer number$/);
  });
});

describe('API_WORKERS (API processes serving one port on this machine)', () => {
  it('is 1 unless set, one node unless Redis says otherwise', () => {
    expect(loadConfig({}).API_WORKERS).toBe(1);
    expect(loadConfig({}).manyNodes).toBe(false);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).manyNodes).toBe(true);
  });

  it('takes a whole number from 1, more than one making many nodes, and auto as the available cores, at most AUTO_API_WORKERS_MAX', () => {
    expect(loadConfig({ API_WORKERS: '1' }).manyNodes).toBe(false);
    expect(loadConfig({ API_WORKERS: '3' }).API_WORKERS).toBe(3);
    expect(loadConfig({ API_WORKERS: '2' }).manyNodes).toBe(true);
    expect(loadConfig({ API_WORKERS: 'auto' }).API_WORKERS).toBe(Math.min(availableParallelism(), AUTO_API_WORKERS_MAX));
  });

  it('refuses none, too many, what is no whole number, and any other word, naming the variable', () => {
    for (const value of ['0', '-2', '65', '1.5', '2e1', 'all', 'AUTO ']) {
      expect(() => loadConfig({ API_WORKERS: value })).toThrow(/API_WORKERS: must be a whole number of at least 1, or auto|API_WORKERS: .*(must not be less than 1|must not be greater than 64)/);
    }
  });

  it('refuses more than one in a process another cluster manager forked (pm2’s cluster mode), saying why and what to set', () => {
    for (const value of ['2', 'auto']) {
      const tried = () => loadConfig({ API_WORKERS: value }, { foreignClusterWorker: true });
      if (value === 'auto' && availableParallelism() === 1) expect(tried().API_WORKERS).toBe(1);
      else expect(tried).toThrow(/API_WORKERS: must be 1 in a node:cluster worker that Parvis did not fork \(a process manager’s cluster mode[^]*set API_WORKERS=1[^]*REDIS_URL/);
    }
    expect(loadConfig({ API_WORKERS: '1' }, { foreignClusterWorker: true }).API_WORKERS).toBe(1);
    expect(loadConfig({ API_WORKERS: '2' }, { foreignClusterWorker: false }).API_WORKERS).toBe(2);
  });
});
