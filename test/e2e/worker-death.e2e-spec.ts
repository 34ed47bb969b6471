import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { newId } from '../../libs/core/src/ids';
import { JOB_LOCK_APPLICATION, JobScheduler } from '../../libs/core/src/jobs';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PASSWORD_RESET_REQUESTED } from '../../libs/identity/src/auth/passwords.service';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { buildDistOnce } from '../support/dist';
import { freshIp } from '../support/fresh-ip';
import { smtpServer } from '../support/smtp-server';
import { bootTestApp, expectOk, TestApp } from '../support/test-app';

const ROOT = path.join(__dirname, '../..');
const SANCTION = `mutation($input: SanctionInput!) { sanctionUser(input: $input) { id } }`;

/**
 * The worker as a real process (dist/apps/worker), killed (SIGKILL: no hook of its own runs)
 * while it holds a job: an outbox batch claimed in its transaction (FOR UPDATE SKIP LOCKED) and,
 * inside it, a sanction's e-mail claimed with a lease (`sanctions.email_claimed_at`), the mail
 * server keeping it waiting at RCPT TO. The next worker must do the job, and do it once.
 */
describe('a worker process that dies in the middle of a job', () => {
  let t: TestApp;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let child: ChildProcess | undefined;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    await buildDistOnce();
    smtp = await smtpServer();
    t = await bootTestApp({ SMTP_URL: smtp.url });
  }, 300_000);
  /** The workers started and not yet exited. */
  const running = new Set<ChildProcess>();
  /** Kills `worker` (SIGKILL) unless it has exited, and waits for its end. */
  async function stop(worker: ChildProcess): Promise<void> {
    if (worker.exitCode === null && worker.signalCode === null) {
      const ended = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await ended;
    }
    running.delete(worker);
  }
  // Every worker a test started and did not kill is killed when the test ends, passed or failed:
  // one a failed assertion left kept running after the run (its parent gone, on the test's
  // database), since the next test's worker took `child`'s place and afterAll killed that alone.
  afterEach(async () => {
    await Promise.all([...running].map(stop));
    child = undefined;
  });
  afterAll(async () => {
    await Promise.all([...running].map(stop));
    await t?.close();
    await smtp?.close();
  });

  /** The worker process on the test's database and mail server (logging at `logLevel`); its output, and its end (the signal that ended it). */
  function startWorker(logLevel = 'warn'): { out: () => string; exited: Promise<NodeJS.Signals | null> } {
    let out = '';
    const worker = spawn(process.execPath, [path.join(ROOT, 'dist/apps/worker/src/main.js')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: t.db.url, SMTP_URL: smtp.url, NODE_ENV: 'test', LOG_LEVEL: logLevel },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = worker;
    running.add(worker);
    worker.once('exit', () => running.delete(worker));
    worker.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    worker.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => worker.once('exit', (_code, signal) => resolve(signal)));
    return { out: () => out, exited };
  }

  /** Kills the worker (SIGKILL) and waits until PostgreSQL has let go of what its transaction held on outbox event `eventId`. */
  async function killWorker(exited: Promise<NodeJS.Signals | null>, eventId: string, out: () => string): Promise<void> {
    child!.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    child = undefined;
    // Its backends go once PostgreSQL sees the connections closed: the batch is free again.
    await until(
      'the dead worker’s claim on the batch was released',
      async () => (await t.sql(`SELECT count(*)::int AS n FROM (SELECT id FROM outbox WHERE id = $1 FOR UPDATE SKIP LOCKED) x`, [eventId]))[0].n === 1,
      out,
    );
  }

  /** Polls `check` until it holds (the child's progress shows only in the database and the mail server). */
  async function until(what: string, check: () => Promise<boolean> | boolean, out: () => string): Promise<void> {
    for (let i = 0; i < 1800; i++) {
      if (await check()) return;
      if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`the worker exited before ${what}: ${out()}`);
      await sleep(100);
    }
    throw new Error(`gave up waiting for ${what}: ${out()}`);
  }

  it('leaves its claimed outbox batch to the next worker, which waits out the dead one’s lease on the e-mail and then sends it once, with no effect doubled', async () => {
    const admin = await makeUser(t, { role: 'ADMIN' });
    const member = await makeUser(t);
    // Everything queued before is handled here first: the child's only job is the sanction's.
    await t.get(OutboxWorker).drain();
    const mailsTo = () => smtp.mails.filter((m) => m.to.includes(member.email)).length;
    // The mail server takes the connection and then keeps the sender waiting at the recipient, for good.
    smtp.refuse.set(member.email, () => new Promise<undefined>(() => undefined));
    const sanctionId = expectOk(await t.gql(SANCTION, { input: { userId: member.id, kind: 'SUSPEND', reason: 'Cooling off', durationHours: 24 } }, { token: admin.token })).sanctionUser.id;
    const [event] = await t.sql(`SELECT id FROM outbox WHERE type = 'user.sanctioned' AND payload->>'sanctionId' = $1`, [sanctionId]);
    expect(event).toBeDefined();

    const { out, exited } = startWorker();
    await until('the e-mail reached the mail server', () => smtp.recipients.includes(member.email), out);
    // Mid-job: the batch is held by the child's open transaction, and the e-mail by its lease.
    expect(await t.sql(`SELECT email_claimed_at IS NOT NULL AS claimed, emailed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ claimed: true, emailed_at: null }]);
    const notices = async () => (await t.sql(`SELECT count(*)::int AS n FROM notifications WHERE user_id = $1`, [member.id]))[0].n as number;
    // The member's notice of it is written in the batch's transaction: not there while it is open.
    expect(await notices()).toBe(0);

    await killWorker(exited, event.id, out);
    expect(await t.sql(`SELECT processed_at, attempts FROM outbox WHERE id = $1`, [event.id])).toEqual([{ processed_at: null, attempts: 0 }]);
    expect(mailsTo()).toBe(0);

    // The next worker takes the event, finds the dead one's lease still holding and waits for it
    // (no failed attempt counted, nothing sent).
    smtp.refuse.delete(member.email);
    await t.sql(`UPDATE outbox SET available_at = now() WHERE id = $1`, [event.id]);
    await t.get(OutboxWorker).drain();
    const waiting = (await t.sql(`SELECT processed_at IS NULL AS waiting, attempts, available_at > now() AS later FROM outbox WHERE id = $1`, [event.id]))[0];
    expect(waiting).toEqual({ waiting: true, attempts: 0, later: true });
    expect(mailsTo()).toBe(0);

    // Once the lease has run out (as if its 15 minutes had passed), the event's next delivery sends it, once.
    await t.sql(`UPDATE sanctions SET email_claimed_at = email_claimed_at - interval '16 minutes' WHERE id = $1`, [sanctionId]);
    await t.sql(`UPDATE outbox SET available_at = now() WHERE id = $1`, [event.id]);
    await t.get(OutboxWorker).drain();
    expect(mailsTo()).toBe(1);
    expect(await t.sql(`SELECT processed_at IS NOT NULL AS done FROM outbox WHERE id = $1`, [event.id])).toEqual([{ done: true }]);
    expect(await t.sql(`SELECT emailed_at IS NOT NULL AS emailed, email_claimed_at FROM sanctions WHERE id = $1`, [sanctionId])).toEqual([{ emailed: true, email_claimed_at: null }]);
    // The dead worker's notice went with its transaction: one, this worker's.
    expect(await notices()).toBe(1);
    // Delivered again (at least once), it sends and notifies nothing more.
    await t.sql(`UPDATE outbox SET processed_at = NULL, available_at = now() WHERE id = $1`, [event.id]);
    await t.get(OutboxWorker).drain();
    expect(mailsTo()).toBe(1);
    expect(await notices()).toBe(1);
  }, 240_000);

  it('loses an account e-mail whose worker died while it went, rather than sending it twice, as documented (at most once): the next worker marks its event done', async () => {
    const member = await makeUser(t);
    await t.get(OutboxWorker).drain();
    const mailsTo = () => smtp.mails.filter((m) => m.to.includes(member.email)).length;
    smtp.refuse.set(member.email, () => new Promise<undefined>(() => undefined));
    expectOk(await t.gql(`mutation($input: RequestPasswordResetInput!) { requestPasswordReset(input: $input) }`, { input: { email: member.email } }, { ip: freshIp() }));
    const [event] = await t.sql(`SELECT id FROM outbox WHERE type = $1 AND payload->>'userId' = $2`, [PASSWORD_RESET_REQUESTED, member.id]);
    expect(event).toBeDefined();
    const { out, exited } = startWorker();
    await until('the e-mail reached the mail server', () => smtp.recipients.includes(member.email), out);
    await killWorker(exited, event.id, out);
    // The record made before the send (outside the batch's transaction) stays; the event waits again.
    expect(await t.sql(`SELECT count(*)::int AS n FROM account_mails_sent WHERE id = $1`, [event.id])).toEqual([{ n: 1 }]);
    expect(await t.sql(`SELECT processed_at, attempts FROM outbox WHERE id = $1`, [event.id])).toEqual([{ processed_at: null, attempts: 0 }]);
    smtp.refuse.delete(member.email);
    await t.sql(`UPDATE outbox SET available_at = now() WHERE id = $1`, [event.id]);
    await t.get(OutboxWorker).drain();
    expect(await t.sql(`SELECT processed_at IS NOT NULL AS done FROM outbox WHERE id = $1`, [event.id])).toEqual([{ done: true }]);
    expect(mailsTo()).toBe(0);
  }, 240_000);

  it('leaves an hourly job whose worker died mid-run to its next interval, as JobScheduler documents: its start stays recorded, no failure counted, no process runs it again within the hour', async () => {
    const u = await makeUser(t);
    const board = await makeBoard(t, (await makeSpace(t, 'PUBLIC')).id);
    /** A draft past retention: `prune-drafts`' next run deletes it. */
    const oldDraft = async () => {
      const id = newId();
      await t.sql(`INSERT INTO drafts (id, user_id, board_id, sequence, updated_at) VALUES ($1, $2, $3, 0, now() - interval '200 days')`, [id, u.id, board]);
      return id;
    };
    const draftsLeft = async (ids: string[]) => ((await t.sql(`SELECT id FROM drafts WHERE id = ANY($1::uuid[])`, [ids])) as Array<{ id: string }>).map((r) => r.id).sort();
    const record = async () =>
      (await t.sql(`SELECT last_run_at::text AS started, failures, last_run_at + interval '1 hour' - now() > interval '59 minutes' AS waits_the_hour FROM job_runs WHERE name = 'prune-drafts'`))[0];
    const first = await oldDraft();
    // Due at the worker's start, whatever ran it before.
    await t.sql(`DELETE FROM job_runs WHERE name = 'prune-drafts'`);
    // This test holds the draft's row, so the worker's run (a DELETE of the drafts past retention) waits on it: mid-run.
    const holder = new Client({ connectionString: t.db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM drafts WHERE id = $1 FOR UPDATE', [first]);
      const { out, exited } = startWorker();
      let blocked: number | undefined;
      await until(
        'the worker’s prune-drafts run waited on the held draft',
        async () => {
          const [waiting] = await t.sql(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM drafts%'`);
          blocked = waiting?.pid;
          return blocked !== undefined;
        },
        out,
      );
      // Its start recorded before it ran (under the job's lock, on the worker's own job-lock connection).
      const atStart = await record();
      expect(atStart).toMatchObject({ failures: 0, waits_the_hour: true });
      /** Its record's start and failures, as they were then (`waits_the_hour` turns false a minute on, whatever happens). */
      const kept = async () => {
        const { started, failures } = await record();
        return { started, failures } as { started: string; failures: number };
      };
      const asAtStart = { started: atStart.started, failures: atStart.failures };
      const jobLocks = async () =>
        (await t.sql(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() AND a.application_name = $1`,
          [JOB_LOCK_APPLICATION],
        ))[0].n as number;
      expect(await jobLocks()).toBeGreaterThan(0);

      child!.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      child = undefined;
      // Its job locks go with its connections (PostgreSQL sees an idle one closed at once).
      await until('the dead worker’s job locks were released', async () => (await jobLocks()) === 0, out);
      // The statement it had sent runs on without it (PostgreSQL finds its client gone only when it answers): let it end.
      await holder.query('ROLLBACK');
      await until('the dead worker’s last statement ended', async () => (await t.sql(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [blocked])).length === 0, out);
      // It took effect: the held draft went (each batch is a statement of its own, committed as it ends).
      expect(await draftsLeft([first])).toEqual([]);

      // Nothing moved its record: no failure counted (the process that would have counted it is gone), the start
      // stands, so the job is due an hour after it, in every process.
      expect(await kept()).toEqual(asAtStart);
      const second = await oldDraft();
      // Another process (this test's scheduler) does not run it within the hour: the dead run's start counts.
      expect(await t.get(JobScheduler).runNow('prune-drafts', 3_600_000)).toBe(false);
      expect(await draftsLeft([second])).toEqual([second]);
      // Nor does the worker restarted: its start-up tick finds the job not due, as its debug line says (until 2026-12-07
      // this waited for another job, `prune-notifications`, to run, which its ticks need not do after this job's). Should
      // that tick run the job, its start recorded first fails this at once.
      const restarted = startWorker('debug');
      await until(
        'the restarted worker found prune-drafts not due',
        async () => {
          expect(await kept()).toEqual(asAtStart);
          return restarted.out().split('\n').some((l) => l.includes('"job":"prune-drafts"') && l.includes('scheduled job not due yet'));
        },
        restarted.out,
      );
      expect(await kept()).toEqual(asAtStart);
      expect(await draftsLeft([second])).toEqual([second]);
      child!.kill('SIGKILL');
      expect(await restarted.exited).toBe('SIGKILL');
      child = undefined;

      // Its interval passed (as if the hour had), the next process to check runs it.
      await t.sql(`UPDATE job_runs SET last_run_at = last_run_at - interval '1 hour' WHERE name = 'prune-drafts'`);
      expect(await t.get(JobScheduler).runNow('prune-drafts', 3_600_000)).toBe(true);
      expect(await draftsLeft([second])).toEqual([]);
      expect(await record()).toMatchObject({ failures: 0, waits_the_hour: true });
    } finally {
      await holder.end();
    }
  }, 420_000);
});
