import { Body, Controller, Get, Injectable, Logger, Post, Query as HttpQuery, Res } from '@nestjs/common';
import { Args, Context, Field, InputType, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { IsBoolean, IsIn } from 'class-validator';
import type { Response } from 'express';
import nodemailer, { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../core/src/config/config';
import { AppError } from '../../core/src/errors';
import type { GqlContext } from '../../core/src/graphql/context';
import { isUuid } from '../../core/src/ids';
import { enhancedStatus, RefusalError, refusedForGood } from '../../core/src/mail-refusals';
import { retryingDeadlocks, rowsOf, sqlState } from '../../core/src/database/unit-of-work';
import { SignedTokens } from '../../core/src/signed-tokens';
import { MAIL_CLAIM_LEASE_SECONDS, MailLease, renewEvery, sendKeepingClaim, stampAt, stampOf } from '../../core/src/mail-lease';
import { SessionsService } from '../../identity/src/sessions/sessions.service';
import { UsersRepository } from '../../identity/src/users/users.repository';
import { asSeenSql, fromIgnoredSql, NotificationVisibility } from './notifications';
import { STANDING_KINDS } from './notifications.handler';
import { Viewer } from '../../core/src/graphql/viewer';
import { groupBy } from '../../core/src/group-by';
import { AccessService } from '../../access/src/access.service';
import { escapeHtml } from '../../content/src/renderer';

export const NOTIFICATION_KINDS = ['MENTION', 'GROUP_MENTION', 'QUOTED', 'REPLY', 'WATCHED_REPLY', 'NEW_TOPIC', 'ANSWER_ACCEPTED', 'REACTIONS', 'POST_EDITED', 'POST_MOVED', 'POST_HIDDEN', 'POST_APPROVED', 'POST_REMOVED', 'SANCTION', 'APPEAL_DECIDED', 'REPORT_RESOLVED',
  'BOOKMARK_REMINDER', 'GROUP_MEMBERSHIP_REQUEST', 'GROUP_MEMBERSHIP_DECIDED', 'GROUP_REQUEST_CLOSED', 'IDEA_STATUS', 'IDEA_MERGED', 'ARTICLE_SUBMITTED', 'ARTICLE_CHANGES_REQUESTED', 'ARTICLE_RETURNED_TO_DRAFT', 'ARTICLE_PUBLISHED', 'ARTICLE_ARCHIVED', 'ARTICLE_UNARCHIVED', 'ARTICLE_VERIFICATION_DUE', 'ARTICLE_FEEDBACK'];
const ALL = '*';
/** The `SignedTokens` purpose of unsubscribe links (they never expire: old e-mails keep working). */
const UNSUBSCRIBE = 'unsubscribe';

/** Kinds whose label is what their actor did ("@ana mentioned you"); the rest are sentences of their own. */
const ACTOR_KINDS = new Set(['MENTION', 'GROUP_MENTION', 'REPLY', 'QUOTED', 'WATCHED_REPLY', 'NEW_TOPIC', 'REACTIONS', 'POST_EDITED', 'POST_MOVED', 'GROUP_MEMBERSHIP_REQUEST']);

const LABELS: Record<string, string> = {
  MENTION: 'mentioned you',
  GROUP_MENTION: 'mentioned a group you are in',
  REPLY: 'replied to your post',
  QUOTED: 'quoted you',
  WATCHED_REPLY: 'replied in a topic you watch',
  NEW_TOPIC: 'started a topic in a board or tag you watch',
  ANSWER_ACCEPTED: 'Your answer was accepted',
  REACTIONS: 'reacted to your post',
  POST_EDITED: 'edited your post',
  POST_MOVED: 'moved your post to another topic',
  POST_HIDDEN: 'Your post was hidden by moderation',
  POST_APPROVED: 'Your post was approved and is now visible',
  POST_REMOVED: 'Your post was removed by moderation',
  SANCTION: 'A moderator sent you a notice',
  // The line when the notice holds no outcome (`appealOutcome`).
  APPEAL_DECIDED: 'Your appeal was decided',
  REPORT_RESOLVED: 'A report you made was resolved',
  BOOKMARK_REMINDER: 'A reminder you set on a bookmark is due',
  GROUP_MEMBERSHIP_REQUEST: 'asked to join a group you manage',
  GROUP_MEMBERSHIP_DECIDED: 'Your request to join a group was answered',
  // The line when the notice says nothing of what the group became (`requestClosedLine`).
  GROUP_REQUEST_CLOSED: 'A group you asked to join no longer takes requests',
  IDEA_STATUS: 'An idea you follow changed status',
  IDEA_MERGED: 'An idea you follow was merged into another',
  ARTICLE_SUBMITTED: 'An article was submitted for review',
  ARTICLE_CHANGES_REQUESTED: 'An editor asked for changes to an article',
  ARTICLE_RETURNED_TO_DRAFT: 'An article in review was edited and is a draft again',
  ARTICLE_PUBLISHED: 'An article was published',
  ARTICLE_ARCHIVED: 'An article was archived',
  ARTICLE_UNARCHIVED: 'An article was brought back from the archive',
  ARTICLE_VERIFICATION_DUE: 'An article you own is due for verification',
  ARTICLE_FEEDBACK: 'A reader found an article you own not helpful',
};

/** What each kind's own unsubscribe link stops: "Stop e-mails about …". */
const ABOUT: Record<string, string> = {
  [ALL]: 'anything',
  MENTION: 'mentions of you',
  GROUP_MENTION: 'mentions of your groups',
  QUOTED: 'quotes of your posts',
  REPLY: 'replies to your posts',
  WATCHED_REPLY: 'replies in topics you watch',
  NEW_TOPIC: 'new topics in boards and tags you watch',
  ANSWER_ACCEPTED: 'your accepted answers',
  REACTIONS: 'reactions to your posts',
  POST_EDITED: 'others’ edits of your posts',
  POST_MOVED: 'your posts moved to other topics',
  POST_HIDDEN: 'your posts hidden by moderation',
  POST_APPROVED: 'your posts approved',
  POST_REMOVED: 'your posts removed by moderation',
  SANCTION: 'moderators’ notices',
  APPEAL_DECIDED: 'your appeals',
  REPORT_RESOLVED: 'your reports',
  BOOKMARK_REMINDER: 'your bookmark reminders',
  GROUP_MEMBERSHIP_REQUEST: 'requests to join your groups',
  GROUP_MEMBERSHIP_DECIDED: 'your requests to join groups',
  GROUP_REQUEST_CLOSED: 'groups you asked to join no longer taking requests',
  IDEA_STATUS: 'status changes of ideas you follow',
  IDEA_MERGED: 'ideas you follow being merged',
  ARTICLE_SUBMITTED: 'articles submitted for review',
  ARTICLE_CHANGES_REQUESTED: 'changes requested to articles',
  ARTICLE_RETURNED_TO_DRAFT: 'articles returned to draft',
  ARTICLE_PUBLISHED: 'articles published',
  ARTICLE_ARCHIVED: 'articles archived',
  ARTICLE_UNARCHIVED: 'articles brought back from the archive',
  ARTICLE_VERIFICATION_DUE: 'articles due for verification',
  ARTICLE_FEEDBACK: 'feedback on your articles',
};

/** "about replies in topics you watch", or nothing for every kind. */
export function unsubscribeScope(kind: string): string {
  return kind === ALL ? '' : ` about ${ABOUT[kind] ?? kind.toLowerCase().replace(/_/g, ' ')}`;
}

/**
 * A title as one line of the e-mail, whatever one stored before titles were checked holds: line
 * breaks and other controls become spaces, and direction controls (embeddings, overrides,
 * isolates, marks) go, so that a title cannot turn the link after it around.
 */
function oneLineTitle(title: string): string {
  return title.replace(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu, '').replace(/[\s\p{Cc}]+/gu, ' ');
}

/**
 * An appeal's notice as the e-mail tells it: how it went (`data.granted`), for a member whose ban
 * stands reads it nowhere else but in the refusal of their sign-in.
 */
function appealOutcome(data: { granted?: unknown } | null): string {
  if (data?.granted === true) return 'Your appeal was granted: the sanction was lifted';
  if (data?.granted === false) return 'Your appeal was denied: the sanction stands';
  return LABELS.APPEAL_DECIDED;
}

/** A request closed by its group's switch (`data.joining`), as the e-mail tells it: whether they may now join by themselves. */
function requestClosedLine(data: { joining?: unknown } | null): string {
  if (data?.joining === 'OPEN') return 'A group you asked to join is open now: your request was closed, join it yourself';
  if (data?.joining === 'CLOSED') return 'A group you asked to join no longer takes requests: your request was closed';
  return LABELS.GROUP_REQUEST_CLOSED;
}

/**
 * SQL true when the notice `n` of the user `u` may be claimed for e-mail now: any, unless `u` is
 * barred site-wide, who is e-mailed news of their own standing alone (`STANDING_KINDS`, the
 * parameter `standingKinds` of the statement), the only
 * news they are given while barred: an appeal's outcome, a sanction's notice. Not the notice of a
 * sanction that bars them now, unless `SanctionMail` gave its e-mail up (`email_given_up_at`: the
 * mail server refused it for good): that one is `SanctionMail`'s to e-mail on its own while it is
 * in force (it may still: refused for now, or its worker's claim not run out), and it waits for the
 * barring to end as their other news does. Sanctions only end, and a sanction given up is never
 * claimed again, so a notice claimed here is of one that `SanctionMail` never claims after (see
 * `emailedOnTheirOwn`).
 */
export function mailableNowSql(n: string, u: string, standingKinds: string): string {
  // One read of the member's barring sanctions answers both whether they are barred and whether
  // the notice is of one of those not given up by `SanctionMail` (an aggregate without GROUP BY: one row, none barring them too).
  return `(SELECT count(*) = 0
                  OR (${n}.kind = ANY(${standingKinds}::text[])
                      AND NOT (${n}.kind = 'SANCTION' AND count(*) FILTER (WHERE sa.id::text = ${n}.data->>'sanctionId' AND sa.email_given_up_at IS NULL) > 0))
             FROM ${AccessService.barringSql(`${u}.id`)})`;
}

/**
 * How long news may wait for its e-mail beyond the latest it goes in normal operation (a member
 * barred site-wide meanwhile, a mail server refusing for now): older than that, it is old by
 * then, and stays in the app alone. Counted from twice EMAIL_DELAY_MINUTES after it came (it is
 * due after one delay, and the one e-mail per delay may hold it back for another), so that no
 * delay, up to its most of a week, drops news that nothing held up.
 */
const NEWS_MAX_AGE_DAYS = 7;

/** A notice a run claimed, as it reads it; `claim` the claim's stamp (`stampOf`). */
type DueNews = {
  id: string;
  user_id: string;
  kind: string;
  topic_id: string | null;
  /** Where it leads: the post's topic as it is now (asSeenSql). */
  shown_topic_id: string | null;
  post_id: string | null;
  removed_post_id: string | null;
  data: any;
  email: string;
  title: string | null;
  actor: string | null;
  number: number | null;
  created_at: Date;
  claim: string;
};

export interface SentEmail {
  to: string;
  subject: string;
  text: string;
}

/**
 * E-mails what users have not read after a delay (EMAIL_DELAY_MINUTES), one message per
 * user per run, through SMTP_URL; without SMTP the message goes to the log outside production, and
 * a production process leaves the news due, unclaimed, for a process that has SMTP_URL (it warns
 * so when it starts running the jobs). Each kind can be turned off, and every e-mail carries
 * signed unsubscribe links that work without signing in.
 */
@Injectable()
export class EmailDigest {
  private readonly log = new Logger('Email');
  private readonly transport: Transporter;

  constructor(
    private readonly ds: DataSource,
    private readonly config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly visibility: NotificationVisibility,
    private readonly tokens: SignedTokens,
    private readonly users: UsersRepository,
  ) {
    this.transport = config.SMTP_URL ? nodemailer.createTransport(config.SMTP_URL) : nodemailer.createTransport({ jsonTransport: true });
  }

  /** Whether this process leaves every e-mail to another: production without SMTP_URL. */
  private get leavesEmail(): boolean {
    return !this.config.SMTP_URL && this.config.NODE_ENV === 'production';
  }

  /**
   * A production process without SMTP_URL says, once it starts running the jobs (the process that
   * sends e-mail: the worker, or the API running it in-process), that it sends no e-mail, and
   * what becomes of it: whatever it would send waits for a process that has SMTP_URL, each kind
   * as long as it can still go, and goes nowhere if no process has it.
   */
  warnIfLeavingEmail(): void {
    if (!this.leavesEmail) return;
    this.log.warn(
      `SMTP_URL is not set: no e-mail goes out from this process. Notification e-mails wait, unclaimed, for a process that has SMTP_URL (news up to ${NEWS_MAX_AGE_DAYS} days past when it was due), ` +
        'and password resets, address confirmations and changes, invitations and sanction notices wait in the outbox while their links hold (an hour for a reset, a day for an address change, a week for a confirmation or a sanction notice, an invitation until it expires); ' +
        'with SMTP_URL set on no process, none is ever sent. Set it on every process that runs the worker.',
    );
  }

  unsubscribeToken(userId: string, kind: string): Promise<string> {
    return this.tokens.seal(UNSUBSCRIBE, `${userId}.${kind}`);
  }

  /** What a valid unsubscribe token stands for; null for a bad one. Changes nothing. */
  async verifyUnsubscribeToken(token: string): Promise<{ userId: string; kind: string } | null> {
    const [userId, kind] = ((await this.tokens.unseal(UNSUBSCRIBE, token)) ?? '').split('.');
    if (!isUuid(userId) || !(kind === ALL || NOTIFICATION_KINDS.includes(kind))) return null;
    return { userId, kind };
  }

  /** Verifies a token and turns that kind (or all) of e-mail off; null for a bad token. */
  async unsubscribe(token: string): Promise<{ userId: string; kind: string } | null> {
    const target = await this.verifyUnsubscribeToken(token);
    if (target) await this.setPreference(target.userId, target.kind, false);
    return target;
  }

  /**
   * Sets a preference of an account not deleted, holding it FOR SHARE in the statement (as
   * `UsersRepository.holdMember`), so an account deletion under way waits and takes it, or it
   * waits and finds the account gone: false, nothing written (an unsubscribe link of a deleted
   * account's old e-mail, or a request that read its session as it was deleted). Nor of an
   * imported author's placeholder, which nobody signs in to and nothing e-mails (migration
   * 1765191600000 took the settings such accounts held).
   */
  async setPreference(userId: string, kind: string, enabled: boolean): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `INSERT INTO email_preferences (user_id, kind, enabled)
       SELECT u.id, $2, $3 FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL AND NOT u.is_placeholder FOR SHARE OF u
       ON CONFLICT (user_id, kind) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()
       RETURNING 1`,
      [userId, kind, enabled],
    );
    return rows.length > 0;
  }

  async preferences(userId: string): Promise<Array<{ kind: string; enabled: boolean }>> {
    const rows: Array<{ kind: string; enabled: boolean }> = await this.ds.query(`SELECT kind, enabled FROM email_preferences WHERE user_id = $1`, [userId]);
    const set = new Map(rows.map((r) => [r.kind, r.enabled]));
    return [ALL, ...NOTIFICATION_KINDS].map((kind) => ({ kind, enabled: set.get(kind) ?? true }));
  }

  /**
   * Sends what is due; returns the messages (tests read them, the log gets them without SMTP).
   *
   * Whole users are claimed at a time (up to `users`), so one person's notifications never
   * split over two e-mails: their due rows are claimed in a short transaction
   * (`email_claimed_at`; other workers skip locked and claimed rows), and the messages go out after
   * it commits, holding no lock or connection while the mail server answers. A claim is a lease
   * (MAIL_CLAIM_LEASE_SECONDS), renewed for each member just before their message goes and while
   * it goes (`sendKeepingClaim`, which stops a send whose claim may no longer be the run's): their
   * news is marked handled (`emailed_at`) once the mail server took it (`settle`), and news whose
   * claim ran out (the process died, or failed to put it back or to mark it) is claimed again by a
   * later run: later, or at worst sent twice once the lease has run out, never lost, and one run at
   * most sends per claim. A message refused for good (see
   * `refusedForGood`) leaves its rows handled, and an address refused for good goes on the bounce
   * list (`users.email_bounced_at`), which no e-mail goes to; one refused for now puts them back,
   * to be tried again once EMAIL_DELAY_MINUTES have passed. A user is sent at most
   * one e-mail per EMAIL_DELAY_MINUTES (`users.digest_sent_at`, stamped by the claim, refused or
   * not): news arriving meanwhile goes in the next one. Users are taken by their oldest due news, so
   * nobody waits behind others who are tried run after run.
   *
   * A member barred site-wide (suspended or banned) is sent news of their own standing alone
   * (`mailableNowSql`): an appeal's outcome, the notice of a sanction not e-mailed on its own
   * (one in a space, say), as Discourse and Khoros tell a member how their appeal went. They may
   * open nothing else an e-mail would link, and such news links nothing (its unsubscribe links
   * need no sign-in). It is claimed, marked and paced as any news (the delay, one e-mail per
   * EMAIL_DELAY_MINUTES, the address and the preferences for its kind), so it goes once, and
   * not again once the barring ends. Their other news (what came before the barring and was not
   * yet e-mailed, and the notice of the sanction barring them, e-mailed on its own unless that was
   * given up) is not
   * claimed but waits; once the barring ends, the next run e-mails what is still unread and
   * theirs to read then, in one message, and none of it that waited more than
   * NEWS_MAX_AGE_DAYS past when it would have gone.
   */
  async sendDue(users = 200): Promise<SentEmail[]> {
    // Production without SMTP_URL: nothing claimed, nothing marked, for a process that has it
    // (or this one, restarted with it); what waits too long leaves the due set there, as ever.
    if (this.leavesEmail) return [];
    // What nobody will e-mail (placeholder or deleted accounts, no address, that kind turned off,
    // news from someone the user has since ignored, news that waited NEWS_MAX_AGE_DAYS past when
    // it would have gone) leaves the due set at once (`emailed_at` means handled), or every run
    // would read it again. Unignoring brings no such news to e-mail: it is old by then. An address
    // not confirmed yet or on the bounce list is judged when the news is due, not before: news
    // that came within the delay of its confirmation (a newcomer's first reply, say) goes once
    // due, as anyone's, and news due while it was not confirmed leaves then, having waited no
    // longer than anyone's not due yet; an address off the bounce list brings no such news to
    // e-mail, old by then. A row another transaction holds (its member marking it read, their
    // account's deletion, a move of its post) is skipped, for the next run: waiting for it while
    // holding rows of other members, taken in no fixed order, could close a circle with a write of
    // several of them (the claim skips locked rows so too).
    await this.ds.query(
      `UPDATE notifications SET emailed_at = now()
        WHERE id IN (
          SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id
           WHERE n.read_at IS NULL AND n.emailed_at IS NULL
             AND (u.email IS NULL OR u.is_placeholder OR u.deleted_at IS NOT NULL
                  OR ((u.email_verified_at IS NULL OR u.email_bounced_at IS NOT NULL) AND n.created_at < now() - make_interval(mins => $2))
                  OR n.created_at < now() - make_interval(days => $1, mins => 2 * $2)
                  OR EXISTS (SELECT 1 FROM email_preferences p WHERE p.user_id = n.user_id AND p.kind IN (n.kind, '*') AND NOT p.enabled)
                  OR ${fromIgnoredSql()})
           FOR NO KEY UPDATE OF n SKIP LOCKED)`,
      [NEWS_MAX_AGE_DAYS, this.config.EMAIL_DELAY_MINUTES],
    );
    // One statement chooses the users, claims their due rows (those alone are locked) and
    // reads them: a single transaction, so the locks end with it. Whose news has waited longest
    // goes first: by id, the same first users (say, old addresses the server keeps refusing for
    // now) would take every run and starve everyone after them.
    // The notice's post read once, by the join below: for where it leads, its number, and the link's anchor.
    const seen = asSeenSql(undefined, 'p');
    const rows = rowsOf<DueNews>(
      await this.ds.query(
        `WITH chosen AS (
           SELECT n.user_id FROM notifications n JOIN users cu ON cu.id = n.user_id
            WHERE n.read_at IS NULL AND n.emailed_at IS NULL AND n.created_at < now() - make_interval(mins => $1)
              -- Not claimed by another run, or its claim's lease has run out (that run died, or failed to put it back).
              AND (n.email_claimed_at IS NULL OR n.email_claimed_at < now() - make_interval(secs => $5))
              -- One e-mail per user per delay at most: news that trickles in waits for the next.
              AND (cu.digest_sent_at IS NULL OR cu.digest_sent_at < now() - make_interval(mins => $1))
              -- An address not to e-mail takes no place of the run's (news come due since the statement above: the next run handles it).
              AND cu.email_verified_at IS NOT NULL AND cu.email_bounced_at IS NULL
              -- A member barred site-wide is claimed news of their own standing alone: the rest waits, unclaimed, for the barring to end.
              AND ${mailableNowSql('n', 'cu', '$3')}
            GROUP BY n.user_id
            ORDER BY min(n.created_at), n.user_id LIMIT $2
         ), due AS (
           -- As the list shows it: a batch of reactions without the reactors the user ignores.
           -- Where it leads: a post's topic as it is now (asSeenSql), titled as it is now.
           SELECT n.id, n.user_id, n.created_at, ${seen.data} AS data, ${seen.topicId} AS shown_topic_id, u.email, t.title, a.handle AS actor, p.number
             FROM notifications n JOIN chosen c ON c.user_id = n.user_id JOIN users u ON u.id = n.user_id LEFT JOIN posts p ON p.id = n.post_id
                  LEFT JOIN topics t ON t.id = ${seen.topicId} LEFT JOIN users a ON a.id = ${seen.actorId}
            WHERE n.read_at IS NULL AND n.emailed_at IS NULL AND n.created_at < now() - make_interval(mins => $1)
              AND (n.email_claimed_at IS NULL OR n.email_claimed_at < now() - make_interval(secs => $5))
              AND u.email IS NOT NULL AND NOT u.is_placeholder AND u.email_verified_at IS NOT NULL AND u.email_bounced_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM email_preferences p WHERE p.user_id = n.user_id AND p.kind IN (n.kind, '*') AND NOT p.enabled)
              -- Ignored since the statement above ran: the next run takes it out of the due set.
              AND NOT ${fromIgnoredSql()}
              -- Old by now, left there because another transaction held it: not sent either.
              AND n.created_at >= now() - make_interval(days => $4, mins => 2 * $1)
              AND ${mailableNowSql('n', 'u', '$3')}
            -- The member's row too, as stamped updates it, and skipped when held: an account being
            -- deleted (ACCOUNT_LOCK) is to delete these very rows, so claiming them and then waiting
            -- for the account would be a deadlock with it. A member held otherwise waits for the next run.
            FOR UPDATE OF n SKIP LOCKED FOR NO KEY UPDATE OF u SKIP LOCKED
         ), stamped AS (
           UPDATE users SET digest_sent_at = now() WHERE id IN (SELECT user_id FROM due)
         )
         UPDATE notifications n SET email_claimed_at = now()
           FROM due
          WHERE n.id = due.id
         RETURNING n.id, n.user_id, n.kind, n.topic_id, due.shown_topic_id, n.post_id, n.removed_post_id, due.data, due.email, due.title, due.actor, due.number, due.created_at,
                   ${stampOf('n.email_claimed_at')} AS claim`,
        [this.config.EMAIL_DELAY_MINUTES, users, STANDING_KINDS, NEWS_MAX_AGE_DAYS, MAIL_CLAIM_LEASE_SECONDS],
      ),
    ).sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : 1));
    const byUser = groupBy(rows, (r) => r.user_id);
    if (rows.length === 0) return [];
    // The claim's stamp, one for the whole run: what marks its rows as its own (`settle`, `putBack`).
    const claim = rows[0].claim;
    let read: Awaited<ReturnType<EmailDigest['readClaimed']>>;
    try {
      read = await this.readClaimed(rows);
    } catch (err) {
      // Nothing went out: the claimed news goes back in the due set, each member's apart (a member
      // whose put-back fails too keeps the claim until its lease runs out, then a later run takes
      // it). Their stamps stay: the retry waits out the delay, as after a refusal for now.
      for (const [userId, items] of byUser) await this.putBack(userId, items.map((i) => i.id), claim);
      throw err;
    }
    const { later, readable, removals } = read;
    // Back to the due set, for a later run (see `readClaimed`): each member's apart (`putBack`),
    // so one's failing leaves the others' to go on.
    for (const [userId, ids] of later) {
      await this.putBack(userId, ids, claim);
      const rest = byUser.get(userId)!.filter((n) => !ids.includes(n.id));
      byUser.set(userId, rest);
    }
    const sent: SentEmail[] = [];
    // Users stamped by the claim who were sent nothing (nothing left they may read, or read
    // meanwhile, or taken over by another run): the run's stamp goes, so it holds back no later
    // e-mail; a stamp another run made since is that run's, and stays. One whose message was
    // refused keeps it: the retry waits out the delay like any next e-mail.
    const unsent: string[] = [];
    for (const [userId, claimed] of byUser) {
      // Whether the message went to the mail server: past that, its news is sent or dealt with as refused.
      let handedOver = false;
      // The stamp this member's rows carry: the run's claim, then the renewal's.
      let mine = claim;
      let items = claimed;
      // Each member is a unit of their own: whatever fails for one (a statement of theirs ending in
      // a deadlock past its retries, say) is logged and leaves their news back in the due set unless
      // their message went out, and the run goes on to the others. Their news stays claimed until
      // it is sent or put back, so no failure, nor the death of the process, loses it: at worst a
      // later run takes it once the claim's lease has run out.
      try {
        if (items.length === 0) {
          unsent.push(userId);
          continue;
        }
        // The claim renewed just before the send, for the rows still this run's: a run that took
        // longer than the lease to get here (another run may have taken them over) sends none of
        // them; the send keeps renewing it while it is under way (`sendKeepingClaim`).
        const renewingFrom = Date.now();
        const renewed = await this.renew(userId, items.map((i) => i.id), claim);
        if (!renewed) {
          // Nothing of theirs sent by this run: its stamp goes (one another run made since stays).
          unsent.push(userId);
          continue;
        }
        mine = renewed.claim;
        items = items.filter((n) => renewed.ids.has(n.id));
        const lines: string[] = [];
        items.forEach((n) => {
          if (!readable.has(n.id)) return;
          // One line per notification, whatever a title stored before titles were kept to one line
          // holds: who did it (a handle is one word), what, where, and a link to the very post.
          const anchor = n.number && n.number > 1 ? `#post-${n.number}` : '';
          // A group's notices name the group (its name is one line, as titles are).
          const group = typeof n.data?.groupName === 'string' ? ` — “${oneLineTitle(n.data.groupName)}”` : '';
          // A removal is linked only where its author may read now (`removalLinks`): a removed topic
          // is named (as it is titled now), not linked, while its author cannot open it.
          const path = n.kind === 'POST_REMOVED' ? removals.get(n.id) : `/t/${n.shown_topic_id}${anchor}`;
          const link = path ? ` ${this.config.publicUrl}${path}` : '';
          const where = n.title ? ` — “${oneLineTitle(n.title)}”${link}` : group;
          let what = n.kind === 'APPEAL_DECIDED' ? appealOutcome(n.data) : n.kind === 'GROUP_REQUEST_CLOSED' ? requestClosedLine(n.data) : (LABELS[n.kind] ?? n.kind);
          if (ACTOR_KINDS.has(n.kind)) {
            const count = n.kind === 'REACTIONS' ? Math.max(1, Number(n.data?.count) || 1) : 1;
            const others = count > 1 ? ` and ${count - 1} other${count > 2 ? 's' : ''}` : '';
            what = `${n.actor ? `@${n.actor}` : 'Someone'}${others} ${what}`;
          }
          lines.push(`• ${what}${where}`);
        });
        if (lines.length === 0) {
          // Nothing left they may read: handled, unsent.
          await this.settle(userId, items.map((i) => i.id), mine, 'nothing-to-send');
          unsent.push(userId);
          continue;
        }
        const link = async (kind: string) => `${this.config.publicUrl}/unsubscribe?token=${await this.unsubscribeToken(userId, kind)}`;
        const unsubscribe = await link(ALL);
        // And one link per kind the e-mail holds, to stop only that (in the order kinds are listed).
        const kinds = NOTIFICATION_KINDS.filter((k) => items.some((n) => n.kind === k && readable.has(n.id)));
        const only = kinds.length > 1 ? await Promise.all(kinds.map(async (k) => `Stop only e-mails${unsubscribeScope(k)}: ${await link(k)}`)) : [];
        const text = [
          `You have ${lines.length} unread notification${lines.length > 1 ? 's' : ''} on Parvis:`,
          '',
          ...lines,
          '',
          `Stop these e-mails: ${unsubscribe}`,
          ...only,
        ].join('\n');
        const to = items[0].email;
        const message = {
          from: this.config.MAIL_FROM,
          // As an address, not a header to parse: a stored `a<b@example.org>` must not go to b.
          to: { name: '', address: to },
          subject: `${lines.length} new notification${lines.length > 1 ? 's' : ''} on Parvis`,
          text,
          // One-click unsubscribe from the mail client (RFC 8058): a POST to the same link.
          list: { unsubscribe: { url: unsubscribe, comment: 'Stop these e-mails' } },
          headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        };
        handedOver = true;
        const lease = { stamp: mine, from: renewingFrom };
        try {
          const kept = await this.sendKeepingClaim(userId, items.map((i) => i.id), lease, message);
          mine = lease.stamp;
          if (!kept) continue;
        } catch (err) {
          mine = lease.stamp;
          // Refused for good: its rows are handled, or the address would be tried for ever, and a
          // refused address goes on the bounce list, so later news is not sent to it either (if
          // it is still the user's: one changed meanwhile starts clean). Else put back, to be
          // tried again once the delay has passed (the user keeps the stamp). The others'
          // messages are sent and handled either way. Only the error's codes are logged: its
          // message, response and rejected lists quote the address.
          const e = err as RefusalError;
          const forGood = refusedForGood(e);
          this.log.warn(
            { userId, code: e.code, responseCode: e.responseCode, status: enhancedStatus(e), permanent: e.permanent },
            forGood === 'ADDRESS'
              ? 'e-mail address refused for good; no e-mail goes to it until it changes or is confirmed again'
              : forGood
                ? 'e-mail refused for good; it is not tried again'
                : 'e-mail not sent; it is tried again once EMAIL_DELAY_MINUTES have passed',
          );
          if (forGood === 'ADDRESS') await this.users.markEmailBounced(userId, to);
          if (forGood) await this.settle(userId, items.map((i) => i.id), mine, 'refused');
          else await this.putBack(userId, items.map((i) => i.id), mine);
          continue;
        }
        // Outside production without SMTP_URL (production sends nothing then, `leavesEmail`), the
        // message is the developer's to read.
        if (!this.config.SMTP_URL) this.log.log({ to, subject: message.subject, text }, 'e-mail (no SMTP_URL configured)');
        sent.push({ to, subject: message.subject, text });
        await this.settle(userId, items.map((i) => i.id), mine, 'sent');
      } catch (err) {
        // Its codes alone: a failed statement's message may quote the address. Past the hand-over,
        // the news stays claimed: sent again, at worst, once the lease has run out.
        this.log.error(
          { userId, code: sqlState(err), name: (err as Error | null)?.name },
          handedOver ? 'e-mail run failed for a user after their message went to the mail server; their news stays claimed until its lease runs out' : 'e-mail not sent: its news is put back for a later run',
        );
        if (!handedOver) await this.putBack(userId, items.map((i) => i.id), mine);
      }
    }
    // Their rows taken in id order, as every statement holding several members' rows takes them
    // (a delivery holds its recipients FOR SHARE so): an UPDATE alone takes them in whatever order
    // its scan meets them, and waiting for one while holding another was a deadlock with a delivery
    // to two of them. The lock is the one the UPDATE takes (NO KEY), so it waits for nothing more.
    if (unsent.length) {
      await this.ds.query(
        `UPDATE users u SET digest_sent_at = NULL
           FROM (SELECT id FROM users WHERE id = ANY($1::uuid[]) AND digest_sent_at = ${stampAt('$2')} ORDER BY id FOR NO KEY UPDATE) held
          WHERE u.id = held.id`,
        [unsent, claim],
      );
    }
    return sent;
  }

  /**
   * What a run needs to know of the news it claimed, read after the claim: whose viewer reads
   * each notice (members barred site-wide read news of their own standing alone), which notices
   * go back to the due set (`later`: the notice of a sanction whose own e-mail is under way, or
   * whose worker died before the send, until its claim runs out; and the other news of a member
   * barred site-wide since the claim chose them, no viewer, which waits as theirs does), which
   * the e-mail tells (`readable`: access checked again at sending time, as the in-app list does;
   * every recipient at once, so a post that notified many is read once) and where it links
   * removals. Changes nothing: a failure here leaves the claim whole, for `sendDue` to put back.
   */
  private async readClaimed(rows: readonly DueNews[]) {
    const { viewers, barred } = await this.sessions.recipientsOf([...new Set(rows.map((n) => n.user_id))]);
    const viewerOf = (n: DueNews) => viewers.get(n.user_id) ?? (STANDING_KINDS.includes(n.kind) ? barred.get(n.user_id) : undefined) ?? null;
    // Read after the claim, never before (see `emailedOnTheirOwn`).
    const { emailed: emailedAlready, claimed } = await this.emailedOnTheirOwn(rows);
    const later = groupBy(rows.filter((n) => claimed.has(n.id) || !viewerOf(n)), (n) => n.user_id, (n) => n.id);
    const visible = await this.visibility.check(rows.map((n) => ({ viewer: viewerOf(n), postId: n.post_id, topicId: n.topic_id, kind: n.kind, data: n.data })));
    const readable = new Set(rows.filter((n, i) => visible[i] && !emailedAlready.has(n.id) && !claimed.has(n.id)).map((n) => n.id));
    const removals = await this.removalLinks(rows.filter((n) => n.kind === 'POST_REMOVED' && readable.has(n.id)), viewers);
    return { later, readable, removals };
  }

  /**
   * One statement over one member's claimed rows (`ids`) still carrying the run's stamp (`claim`):
   * rows another run took over once the lease ran out, or that left the due set meanwhile (handled
   * as news nobody will e-mail, a batch of reactions news again), are not touched. Their rows taken
   * in id order first (FOR NO KEY UPDATE, the UPDATE's own lock), as the stamps' clearing takes
   * its rows; the writers of notifications (a member marking theirs read, a move of posts, an
   * account's deletion) take theirs in no such order, so this may still lose a deadlock to one of
   * them, and is then run again (`retryingDeadlocks`: TRANSACTION_ATTEMPTS in all, after a short
   * pause; the other has usually committed by then). Answers the rows it changed with their new
   * stamp, or throws the last failure past its attempts (its SQLSTATE is what the log keeps).
   */
  private async onClaimed(set: string, ids: readonly string[], claim: string): Promise<Array<{ id: string; claim: string | null }>> {
    // One statement, its own transaction: run again as `UnitOfWork.run` runs its transactions,
    // without a BEGIN and COMMIT around it (two more round trips per member for nothing).
    return retryingDeadlocks(async () =>
      rowsOf<{ id: string; claim: string | null }>(
        await this.ds.query(
          `UPDATE notifications n SET ${set}
             FROM (SELECT id FROM notifications WHERE id = ANY($1::uuid[]) AND email_claimed_at = ${stampAt('$2')} AND emailed_at IS NULL ORDER BY id FOR NO KEY UPDATE) held
            WHERE n.id = held.id
            RETURNING n.id, ${stampOf('n.email_claimed_at')} AS claim`,
          [ids, claim],
        ),
      ),
    );
  }

  /**
   * Renews a member's claim just before their message goes (the lease counted from now): the rows
   * still the run's and unread, and their new stamp. A row the member read since the claim is
   * news no more: its claim is let go, and it is not sent. Null when no row is left to send
   * (another run took them over, they left the due set, or the member read them all), and nothing
   * is to be sent. Throws past its attempts, nothing sent.
   */
  private async renew(userId: string, ids: readonly string[], claim: string): Promise<{ ids: Set<string>; claim: string } | null> {
    const rows = (await this.onClaimed('email_claimed_at = CASE WHEN n.read_at IS NULL THEN now() END', ids, claim)).filter((r) => r.claim !== null);
    if (rows.length === 0) {
      this.log.log({ userId }, 'e-mail not sent: its news was read meanwhile, or taken over by another run once this one’s claim ran out');
      return null;
    }
    return { ids: new Set(rows.map((r) => r.id)), claim: rows[0].claim! };
  }

  /**
   * Sends a member's message while the run's claim on their news (`ids`) holds
   * (`sendKeepingClaim`, the claim renewed on the rows still the run's): false when it was stopped,
   * the news left to whichever run holds it or to the lease running out, neither settled nor put
   * back; throws the mail server's refusal.
   */
  private sendKeepingClaim(userId: string, ids: readonly string[], lease: MailLease, message: Mail.Options): Promise<boolean> {
    return sendKeepingClaim({
      lease,
      renew: async (stamp) => (await this.onClaimed('email_claimed_at = now()', ids, stamp))[0]?.claim ?? null,
      send: (signal) => this.transport.sendMail({ ...message, signal }),
      everyRenewal: (tick, everyMs) => this.everyRenewal(tick, everyMs),
      log: this.log,
      logFields: { userId },
    });
  }

  /** `renewEvery`, here for a test to drive the ticks itself. */
  private everyRenewal(tick: () => Promise<void>, everyMs: number): () => void {
    return renewEvery(tick, everyMs);
  }

  /**
   * Marks a member's claimed news handled (`emailed_at`) once it is dealt with: sent, refused for
   * good, or nothing of it left they may read. It never throws: a failure past its attempts is
   * logged, and the news stays claimed until the lease runs out, when a later run takes it again
   * (sent twice then, at worst, never lost).
   */
  private async settle(userId: string, ids: readonly string[], claim: string, why: 'sent' | 'refused' | 'nothing-to-send'): Promise<void> {
    try {
      await this.onClaimed('emailed_at = now(), email_claimed_at = NULL', ids, claim);
    } catch (err) {
      this.log.error({ userId, code: sqlState(err), why }, 'e-mail news not marked handled: it stays claimed and a later run takes it again once the lease runs out');
    }
  }

  /**
   * Puts one member's claimed news (`ids`) back in the due set, for a later run: what a run will
   * not send now but may later (see `sendDue`). It never throws: a failure past its attempts is
   * logged and that member's news stays claimed until its lease (MAIL_CLAIM_LEASE_SECONDS) runs
   * out, when a later run takes it again: later, never lost. The run goes on to the others.
   */
  private async putBack(userId: string, ids: readonly string[], claim: string): Promise<void> {
    try {
      await this.onClaimed('email_claimed_at = NULL', ids, claim);
    } catch (err) {
      this.log.error({ userId, code: sqlState(err) }, 'e-mail news not put back: it stays claimed and a later run takes it once the lease runs out');
    }
  }

  /**
   * Where the e-mail links each POST_REMOVED notice (ones `NotificationVisibility` let through,
   * so named by their topic's title as it is now), judged as Discourse links such news: to
   * whatever the recipient may read when the e-mail goes out, and to nothing else. The removed
   * post itself (`removed_post_id`) when `NotificationVisibility.removedPosts` gives it (they
   * read it in full, restored since or staff, still in the notice's topic: what the app shows
   * as the notice's `post`); else the topic, when they read it as a topic (a reply's topic; a
   * removed topic once it is restored, never while it is deleted, which only names it); else
   * no link. The topic through the same `check` every notice passes, judged as itself rather than
   * as a removed one (`removesTopic`). Each post and topic read once for the run.
   */
  private async removalLinks(
    items: ReadonlyArray<{ id: string; user_id: string; topic_id: string | null; removed_post_id: string | null }>,
    viewers: Map<string, Viewer>,
  ): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    const about = items.filter((n) => n.topic_id);
    if (about.length === 0) return links;
    const viewerOf = (n: { user_id: string }) => viewers.get(n.user_id) ?? null;
    const [posts, topics] = await Promise.all([
      this.visibility.removedPosts(about.map((n) => ({ viewer: viewerOf(n), postId: n.removed_post_id, topicId: n.topic_id }))),
      this.visibility.check(about.map((n) => ({ viewer: viewerOf(n), postId: null, topicId: n.topic_id, kind: 'POST_REMOVED', data: null }))),
    ]);
    about.forEach((n, i) => {
      const post = posts[i];
      if (post) links.set(n.id, `/t/${post.topicId}${post.number > 1 ? `#post-${post.number}` : ''}`);
      else if (topics[i]) links.set(n.id, `/t/${n.topic_id}`);
    });
    return links;
  }

  /**
   * Of the claimed rows, the SANCTION notices whose sanction was e-mailed on its own (`emailed`:
   * `SanctionMail` marks it, `sanctions.emailed_at`, once the mail server took it): they stay
   * handled and are not e-mailed again; and those whose sanction's own e-mail is claimed by a
   * worker (`claimed`: `sanctions.email_claimed_at`, within its lease), which may yet send it or
   * may have died: held back, to be read again by a later run. A sanction not e-mailed so
   * (lifted before the worker ran, refused by the mail server, its claim run out unsent, or one
   * in a space) is neither, and its notice goes as any. One statement, and only when a run
   * claimed such notices.
   *
   * Read after the claim: `SanctionMail` claims a sanction only while it is in force, barring its
   * member, and the claim takes no notice of such a sanction (`mailableNowSql`: a member barred
   * is claimed news of their own standing, but not the notice of what bars them, unless its e-mail
   * was given up, which is never claimed again; one not barred has no such sanction). So a digest
   * that claimed a notice did so once its sanction could no longer be claimed (sanctions only end,
   * and giving up is for good), and finds any claim or mark made before that: a
   * sanction e-mailed at the last moment is never e-mailed twice: its send keeps its claim while it
   * goes, and stops once it may have lost it (`sendKeepingClaim`).
   */
  private async emailedOnTheirOwn(rows: ReadonlyArray<{ id: string; kind: string; data: any }>): Promise<{ emailed: Set<string>; claimed: Set<string> }> {
    const notices = rows.filter((n) => n.kind === 'SANCTION' && typeof n.data?.sanctionId === 'string' && isUuid(n.data.sanctionId));
    if (notices.length === 0) return { emailed: new Set(), claimed: new Set() };
    const sanctions: Array<{ id: string; emailed: boolean }> = await this.ds.query(
      `SELECT id, emailed_at IS NOT NULL AS emailed FROM sanctions
        WHERE id = ANY($1::uuid[]) AND (emailed_at IS NOT NULL OR email_claimed_at > now() - make_interval(secs => $2))`,
      [[...new Set(notices.map((n) => n.data.sanctionId as string))], MAIL_CLAIM_LEASE_SECONDS],
    );
    const emailed = new Map(sanctions.map((r) => [r.id, r.emailed]));
    const of = (done: boolean) => new Set(notices.filter((n) => emailed.get(n.data.sanctionId) === done).map((n) => n.id));
    return { emailed: of(true), claimed: of(false) };
  }
}

/**
 * Unsubscribe links from e-mails: no sign-in needed, the token is signed. Opening the link
 * (GET) only asks for confirmation, since mail scanners open links on their own; the form's
 * POST, or the mail client's one-click POST (RFC 8058, the token in the query), turns e-mail off.
 */
@Controller('unsubscribe')
export class UnsubscribeController {
  constructor(private readonly digest: EmailDigest) {}

  @Get()
  async confirm(@HttpQuery('token') token: string, @Res() res: Response): Promise<void> {
    const valid = typeof token === 'string' && (await this.digest.verifyUnsubscribeToken(token));
    if (!valid) return void res.status(400).type('text/plain').send('This unsubscribe link is not valid.');
    res
      .status(200)
      .type('text/html')
      .send(
        `<!doctype html><meta charset="utf-8"><title>Unsubscribe</title>` +
          `<form method="post"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
          `<p>Stop e-mails from Parvis${escapeHtml(unsubscribeScope(valid.kind))}?</p><button type="submit">Unsubscribe</button></form>`,
      );
  }

  @Post()
  async unsubscribe(@HttpQuery('token') queryToken: unknown, @Body() body: Record<string, unknown> | undefined, @Res() res: Response): Promise<void> {
    const token = typeof body?.token === 'string' ? body.token : queryToken;
    const done = typeof token === 'string' ? await this.digest.unsubscribe(token) : null;
    res
      .status(done ? 200 : 400)
      .type('text/plain')
      .send(done ? `You will no longer receive e-mails from Parvis${unsubscribeScope(done.kind)}.` : 'This unsubscribe link is not valid.');
  }
}

@ObjectType('EmailPreference')
export class EmailPreferenceModel {
  @Field({ description: 'A notification kind, or * for all e-mail.' }) kind!: string;
  @Field() enabled!: boolean;
}

@InputType()
export class EmailPreferenceInput {
  @Field() @IsIn([ALL, ...NOTIFICATION_KINDS], { message: `must be * or one of ${NOTIFICATION_KINDS.join(', ')}` }) kind!: string;
  @Field() @IsBoolean() enabled!: boolean;
}

@Resolver(() => EmailPreferenceModel)
export class EmailPreferencesResolver {
  constructor(private readonly digest: EmailDigest) {}

  @Query(() => [EmailPreferenceModel], { description: 'Which notifications the viewer gets by e-mail.' })
  emailPreferences(@Context() ctx: GqlContext) {
    if (!ctx.viewer.id) throw AppError.unauthenticated();
    return this.digest.preferences(ctx.viewer.id);
  }

  @Mutation(() => [EmailPreferenceModel], { description: 'Turn e-mail on or off for one notification kind, or * for all.' })
  async setEmailPreference(@Args('input') input: EmailPreferenceInput, @Context() ctx: GqlContext) {
    if (!ctx.viewer.id) throw AppError.unauthenticated();
    if (!(await this.digest.setPreference(ctx.viewer.id, input.kind, input.enabled))) throw AppError.unauthenticated();
    return this.digest.preferences(ctx.viewer.id);
  }
}
