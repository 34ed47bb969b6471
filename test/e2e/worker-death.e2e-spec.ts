import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { OutboxWorker } from '../../libs/core/src/outbox/outbox';
import { PASSWORD_RESET_REQUESTED } from '../../libs/identity/src/auth/passwords.service';
import { makeUser } from '../factories';
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

  /** The worker process on the test's database and mail server; its output, and its end (the signal that ended it). */
  function startWorker(): { out: () => string; exited: Promise<NodeJS.Signals | null> } {
    let out = '';
    const worker = spawn(process.execPath, [path.join(ROOT, 'dist/apps/worker/src/main.js')], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: t.db.url, SMTP_URL: smtp.url, NODE_ENV: 'test', LOG_LEVEL: 'warn' },
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
});
