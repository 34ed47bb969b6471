import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Field, ID, InputType, ObjectType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID } from 'class-validator';
import { HasVisibleText, IsSingleLine, MaxCharacters, MinCharacters, PlainText } from '../../../core/src/graphql/validators';
import { DataSource } from 'typeorm';
import { AccessLevel } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { CENSOR_MASK, ContentRenderer, htmlToText } from '../../../content/src/renderer';
import { Tx, UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import { settingsToken } from '../../../core/src/settings';
import { Connection, ConnectionType, idFromCursor, PageArgs, pageSize, toConnection } from '../../../core/src/graphql/pagination';
import { Viewer } from '../../../core/src/graphql/viewer';
import { ID_VERSION, isUuid, newId } from '../../../core/src/ids';
import { Contribution, PlainTexts, PlainVerdict, PostingCheck, StoredContribution, Verdict } from '../../../forum/src/posting-policy';
import { RateLimiter, RateRule } from '../../../core/src/rate-limit';
import { AuditLog } from '../../../core/src/audit/audit-log';
import { compileRules, fold, matchAll, MatchTimeout, validatePattern } from './matcher';
import type { Matches, MatchingSteps, RuleKind, TryBudget } from './matcher';
import { trim } from '../../../core/src/graphql/transforms';
import { ReviewItems } from '../reports/review-items';
import { ReportTargetType } from '../reports/review.model';
import { ProfileChange, ProfileVerdict } from '../../../identity/src/users/profile-screening';

export type WatchAction = 'BLOCK' | 'CENSOR' | 'REQUIRE_APPROVAL' | 'FLAG';
const ACTIONS: WatchAction[] = ['BLOCK', 'CENSOR', 'REQUIRE_APPROVAL', 'FLAG'];
/** A user refused by one rule again within this many minutes adds nothing to the moderation log. */
const REFUSALS_LOGGED_EVERY_MINUTES = 10;
const REFUSALS_LOGGED: RateRule = { bucket: 'automod:refusal-log', limit: 1, windowSeconds: REFUSALS_LOGGED_EVERY_MINUTES * 60 };
/**
 * Saves of a rule per moderator: each tries its pattern on hostile inputs, holding the process
 * for up to a second (`validatePattern`), so one is counted before that, whatever it then decides.
 */
export const RULE_SAVES: RateRule = { bucket: 'automod:rule-save', limit: 10, windowSeconds: 60 };
/**
 * How watched words are tried, beside what they say: a save's tries of its pattern (validatePattern's TryBudget: its defaults,
 * by real time, in production) and hooks in a post's matching run (matchAll's steps: none in production). A provider a test app
 * supplies (test/support/test-app.ts: saves try ordinary patterns with no time limit and a stopped clock, so that a loaded
 * machine refuses none as too slow); nothing provides it in production, so the defaults apply. It was two exported objects
 * tests changed in place (`patternTries`, `matchingSteps`), shared by every app of a test process.
 */
export interface WatchedWordsSettings {
  patternTries: TryBudget;
  matchingSteps: MatchingSteps;
  /**
   * A post's matching budget (MATCH_BUDGET_MS, its retry four times it) where a test gives one: one that bounds a run's work by
   * counting its passes (`matchingSteps.scanned`) gives a budget a loaded machine cannot run out of. Absent in production.
   */
  matchBudgetMs?: number;
}
export const WATCHED_WORDS_SETTINGS = settingsToken<WatchedWordsSettings>('WatchedWordsSettings');
const PRODUCTION_SETTINGS: WatchedWordsSettings = Object.freeze({ patternTries: Object.freeze({}), matchingSteps: Object.freeze({}) });
/** Time budget for all watched-word matching on one post. */
const MATCH_BUDGET_MS = 50;


@InputType()
export class WatchedWordInput {
  @Field(() => ID, { nullable: true, description: 'The space; site-wide when absent (global moderators and admins).' })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a space id' })
  spaceId?: string;
  @Field({ description: 'A word (with * wildcards) or a regular expression, 1–200 characters of one line of visible text (a regular expression writes control or invisible characters as escapes, \\u200B).' })
  @Transform(trim) @IsString() @MinCharacters(1) @MaxCharacters(200) @HasVisibleText() @IsSingleLine()
  pattern!: string;
  @Field(() => String, { description: 'WORD or REGEX.' }) @IsIn(['WORD', 'REGEX'], { message: 'must be WORD or REGEX' }) kind!: RuleKind;
  @Field(() => String, { description: 'BLOCK, CENSOR, REQUIRE_APPROVAL or FLAG.' }) @IsIn(ACTIONS, { message: `must be one of ${ACTIONS.join(', ')}` }) action!: WatchAction;
  @Field({ description: 'Shown to the author when the rule blocks or holds a post: plain text, 3–300 characters.' }) @PlainText(300, { min: 3 }) publicReason!: string;
}

@ObjectType('WatchedWord')
export class WatchedWordModel {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true }) spaceId!: string | null;
  @Field() pattern!: string;
  @Field() kind!: string;
  @Field() action!: string;
  @Field() publicReason!: string;
  @Field() createdAt!: Date;
}

export const WatchedWordConnection = ConnectionType(WatchedWordModel, 'WatchedWord');

interface Row {
  id: string;
  space_id: string | null;
  pattern: string;
  kind: RuleKind;
  action: WatchAction;
  public_reason: string;
  created_at: Date;
}

/** One text a rule runs over: a post's body, its title, its tags (which cannot be masked). */
interface Part {
  field: string;
  text: string;
  maskable: boolean;
}

/**
 * Whose text is screened, where, and as what: a contribution to a space, plain texts in a space
 * (a poll, a topic's heading set outside any post), or a member's profile (in no space: the
 * site's rules alone apply).
 */
type Screening = { viewer: Viewer; spaceId: string | null; kind: Contribution['kind'] | 'profile' | PlainTexts['what'] };

/**
 * What refuses text nothing can hold beside BLOCK (a profile change, a split's topic heading, a
 * poll): REQUIRE_APPROVAL, since nothing holds it for a moderator to approve, and what it shows
 * must not go up without one.
 */
const UNHELD_REFUSING: WatchAction[] = ['BLOCK', 'REQUIRE_APPROVAL'];

interface Screened {
  matched: Row[];
  masked: Array<string | null>;
  timedOut: boolean;
}

const toModel = (r: Row) =>
  Object.assign(new WatchedWordModel(), { id: r.id, spaceId: r.space_id, pattern: r.pattern, kind: r.kind, action: r.action, publicReason: r.public_reason, createdAt: r.created_at });

/** Managing the rules: a space's moderators for the space, global moderators and admins site-wide. */
@Injectable()
export class WatchedWordsService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly limiter: RateLimiter,
    @Optional() @Inject(WATCHED_WORDS_SETTINGS) private readonly settings: WatchedWordsSettings = PRODUCTION_SETTINGS,
  ) {}

  private async authorize(viewer: Viewer, spaceId: string | null): Promise<void> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    if (spaceId) await this.access.require(viewer, spaceId, AccessLevel.MODERATE, 'Space not found');
    else if (!(await this.access.moderatesSiteWide(viewer))) throw AppError.forbidden('Site-wide rules need a global moderator or an admin');
  }

  /** Oldest first (the order they apply in), by their UUIDv7 ids. */
  async list(viewer: Viewer, spaceId: string | null, args: PageArgs): Promise<Connection<WatchedWordModel>> {
    await this.authorize(viewer, spaceId);
    const where = spaceId ? 'space_id = $1' : 'space_id IS NULL AND $1::uuid IS NULL';
    const size = pageSize(args.first);
    const rows: Row[] = await this.ds.query(
      `SELECT * FROM watched_words WHERE ${where} AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [spaceId, idFromCursor(args.after, 'watched-words'), size + 1],
    );
    return toConnection(rows, size, 'watched-words', (r) => [r.id], toModel, async () => (await this.ds.query(`SELECT count(*)::int AS n FROM watched_words WHERE ${where}`, [spaceId]))[0].n);
  }

  async create(viewer: Viewer, input: WatchedWordInput): Promise<WatchedWordModel> {
    const spaceId = input.spaceId ?? null;
    await this.authorize(viewer, spaceId);
    await this.limiter.reserve([[RULE_SAVES, viewer.user!.id]]);
    const problem = validatePattern(input.kind, input.pattern, this.settings.patternTries);
    if (problem) throw AppError.badField('pattern', problem);
    const row = await this.uow.run(async (tx) => {
      const [r] = await tx.query<Row>(
        `INSERT INTO watched_words (id, space_id, pattern, kind, action, public_reason, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [newId(), spaceId, input.pattern, input.kind, input.action, input.publicReason, viewer.id],
      );
      await this.audit.append(tx, { actorId: viewer.id, action: 'automod.rule_create', targetType: 'watched_word', targetId: r.id, spaceId, after: input });
      return r;
    });
    return toModel(row);
  }

  async delete(viewer: Viewer, id: string): Promise<boolean> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const rows: Row[] = isUuid(id) ? await this.ds.query(`SELECT * FROM watched_words WHERE id = $1`, [id]) : [];
    // Who may not list a rule (`watchedWords` of its space, or the site-wide ones) learns nothing of it: NOT_FOUND, as for none.
    if (!rows[0]) throw AppError.notFound('Rule not found');
    await this.authorize(viewer, rows[0].space_id).catch((err: AppError) => {
      throw err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND' ? AppError.notFound('Rule not found') : err;
    });
    await this.uow.run(async (tx) => {
      await tx.query(`DELETE FROM watched_words WHERE id = $1`, [id]);
      await this.audit.append(tx, { actorId: viewer.id, action: 'automod.rule_delete', targetType: 'watched_word', targetId: id, spaceId: rows[0].space_id, before: toModel(rows[0]) });
    });
    return true;
  }
}

/**
 * Automod in the content pipeline. Matching is case- and accent-insensitive and runs
 * under a time budget; a post whose matching runs out of time is held for review
 * rather than stalling the request or slipping through.
 */
@Injectable()
export class WatchedWordsRule implements PostingCheck {
  readonly name = 'watched-words';
  private readonly log = new Logger('Automod');

  constructor(
    private readonly ds: DataSource,
    private readonly renderer: ContentRenderer,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly reviewItems: ReviewItems,
    private readonly limiter: RateLimiter,
    @Optional() @Inject(WATCHED_WORDS_SETTINGS) private readonly settings: WatchedWordsSettings = PRODUCTION_SETTINGS,
  ) {}

  /**
   * Every rule against the body, the title and the tags alike: a word refused in a post is
   * refused in a title too (titles reach lists, search, e-mails and live events). CENSOR masks
   * the body and the title; a tag cannot be masked, so a censored word there is refused.
   * The body is screened twice: as written, then as readers will see it (rendered, censored
   * words masked, markup gone and entities decoded), so a word spelt with entities
   * (`sp&#97;m`) or split by markup (`**sp**am`) is caught; one that survives masking that way
   * cannot be masked in the source, so CENSOR refuses it there.
   */
  async check(c: Contribution, verdict: Verdict): Promise<void> {
    const parts: Part[] = [{ field: 'body', text: c.body, maskable: true }];
    if (c.title != null) parts.push({ field: 'title', text: c.title, maskable: true });
    if (c.tags?.length) parts.push({ field: 'tags', text: c.tags.join(' '), maskable: false });
    const twice = await this.screenTwice(c, parts, c.rendered.html, await this.rulesFor(c.spaceId));
    if (!twice) return;
    const { screened, maskedHtml } = twice;
    const reasons = new Set(verdict.reasons);
    if (screened.timedOut) {
      verdict.pending = true;
      reasons.add('automatic checks could not finish');
    }
    for (const rule of screened.matched) {
      if (rule.action === 'REQUIRE_APPROVAL') {
        verdict.pending = true;
        reasons.add(rule.public_reason);
      }
      if (rule.action === 'FLAG') reasons.add(`flag:${rule.id}`);
      if (rule.action === 'CENSOR') reasons.add(`censor:${rule.id}`);
    }
    parts.forEach((part, i) => {
      const masked = screened.masked[i];
      if (masked === null) return;
      if (part.field === 'body') verdict.html = maskedHtml!;
      else verdict.title = masked;
    });
    verdict.reasons = [...reasons];
  }

  /**
   * `parts` screened as written, then the first, a markdown body rendered as `html`, as readers
   * will get it (rendered with censored words masked, markup gone, entities decoded), under the
   * same rules (read once for both passes): the matches of both, and the masked body's HTML
   * (null when nothing was masked). Without `html`, no part is a body and one pass is enough.
   */
  private async screenTwice(s: Screening, parts: Part[], html: string | null, rules: Row[], refusing?: WatchAction[]): Promise<{ screened: Screened; maskedHtml: string | null } | null> {
    const screened = await this.screen(s, parts, ACTIONS, rules, refusing);
    if (!screened) return null;
    if (html === null) return { screened, maskedHtml: null };
    const maskedHtml = screened.masked[0] === null ? null : this.renderer.render(screened.masked[0]).html;
    const shown = screened.timedOut ? null : await this.screen(s, [{ field: parts[0].field, text: htmlToText(maskedHtml ?? html), maskable: false }], ACTIONS, rules, refusing);
    if (shown) {
      screened.timedOut ||= shown.timedOut;
      screened.matched.push(...shown.matched.filter((r) => !screened.matched.includes(r)));
    }
    return { screened, maskedHtml };
  }

  /**
   * A member's profile change (ProfileScreening) against the site's rules (a profile belongs to
   * no space), as a post is screened: BLOCK refuses it, naming the field and the rule's public
   * reason, and so does REQUIRE_APPROVAL (UNHELD_REFUSING). CENSOR masks the bio, as it masks a
   * body (screened as written and as readers get it); the name, the location and the website
   * cannot be masked (a name of ■ would stand beside every post, and an address would break),
   * so a censored word there refuses the change, as in a tag. FLAG lets it through and puts the
   * member in the review queue (`profileStored`). Matching that runs out of time is CONFLICT:
   * nobody would review the profile before it shows.
   */
  async checkProfile(c: ProfileChange, verdict: ProfileVerdict): Promise<void> {
    const parts: Part[] = [];
    if (c.bio) parts.push({ field: 'bio', text: c.bio.source, maskable: true });
    if (c.displayName != null) parts.push({ field: 'displayName', text: c.displayName, maskable: false });
    if (c.location != null) parts.push({ field: 'location', text: c.location, maskable: false });
    if (c.website != null) parts.push({ field: 'website', text: c.website, maskable: false });
    if (parts.length === 0) return;
    const s: Screening = { viewer: c.viewer, spaceId: null, kind: 'profile' };
    const twice = await this.screenTwice(s, parts, c.bio?.html ?? null, await this.rulesFor(null), UNHELD_REFUSING);
    if (!twice) return;
    if (twice.screened.timedOut) throw AppError.conflict('Automatic checks could not finish; try again');
    verdict.reasons = withRulings(verdict.reasons, twice.screened.matched);
    if (twice.maskedHtml !== null) verdict.bioHtml = twice.maskedHtml;
  }

  /**
   * Plain texts nothing holds for a moderator (a poll's question and options beside its post; a
   * split's new topic title and tags, PostingPolicy.screenHeading) against the space's and the
   * site's rules, as a post's title and tags are screened: BLOCK refuses them, naming the field
   * and the rule's public reason, and so does REQUIRE_APPROVAL (UNHELD_REFUSING); CENSOR masks
   * them where it matches, as stored and shown, and refuses a text that cannot be masked (a
   * tag); FLAG lets them through and puts the post in the review queue (`plainStored`: the
   * poll's post, the split topic's first post), as a flagged post goes there. Matching that runs
   * out of time is CONFLICT, as for a profile.
   */
  async screenPlain(p: PlainTexts, verdict: PlainVerdict): Promise<void> {
    const parts: Part[] = p.texts.map((t) => ({ field: t.field, text: t.text, maskable: t.maskable ?? true }));
    const screened = await this.screen({ viewer: p.viewer, spaceId: p.spaceId, kind: p.what }, parts, ACTIONS, undefined, UNHELD_REFUSING);
    if (!screened) return;
    if (screened.timedOut) throw AppError.conflict('Automatic checks could not finish; try again');
    verdict.reasons = withRulings(verdict.reasons, screened.matched);
    screened.masked.forEach((masked, i) => {
      if (masked !== null) verdict.texts[i] = masked;
    });
  }

  /** Plain texts' FLAG rules put the post they are beside (or that opens their topic) in the review queue, as a post's do; censoring is logged. */
  async plainStored(tx: Tx, p: PlainTexts, verdict: PlainVerdict, postId: string): Promise<void> {
    await this.recordRulings(tx, verdict.reasons, p.spaceId, { type: ReportTargetType.POST, id: postId });
  }

  /** A profile's FLAG rules put its member in the review queue, site-wide; censoring is logged. */
  async profileStored(tx: Tx, c: ProfileChange, verdict: ProfileVerdict): Promise<void> {
    await this.recordRulings(tx, verdict.reasons, null, { type: ReportTargetType.USER, id: c.viewer.id! });
  }

  /**
   * A plain-text note beside content a person reviews anyway (a "not helpful" comment on an
   * article, which only moderators read; an article revision's summary and note, which wait
   * for an editor): BLOCK refuses it as it refuses a post, CENSOR masks it; REQUIRE_APPROVAL,
   * FLAG and a timed-out match change nothing.
   */
  async screenNote(c: Pick<Contribution, 'viewer' | 'spaceId' | 'kind'>, field: string, text: string): Promise<string> {
    const screened = await this.screen(c, [{ field, text, maskable: true }]);
    return screened?.masked[0] ?? text;
  }

  /**
   * `text` with what the space's and the site's CENSOR rules match masked, as readers of its
   * rendering see it: for copying somebody else's words (promoting their post into an article)
   * without handing over what the censor hid from the copier.
   */
  async maskCensored(viewer: Viewer, spaceId: string, text: string): Promise<string> {
    const screened = await this.screen({ viewer, spaceId, kind: 'edit' }, [{ field: 'body', text, maskable: true }], ['CENSOR']);
    if (screened?.timedOut) throw AppError.conflict('Automatic checks could not finish; try again');
    return screened?.masked[0] ?? text;
  }

  private rulesFor(spaceId: string | null): Promise<Row[]> {
    return this.ds.query(`SELECT * FROM watched_words WHERE space_id IS NULL OR space_id = $1 ORDER BY created_at, id`, [spaceId]);
  }

  /**
   * The space's and the site's rules (those with one of `actions`) over every part in one
   * time-budgeted run. Throws on a BLOCK (or another of `refusing`, or a CENSOR in a part that
   * cannot be masked), after logging the refusal. Otherwise
   * returns the rules that matched, each part masked where a CENSOR rule hit it (null when
   * nothing was), and whether matching ran out of time or threw (then nothing matched). Null without rules.
   */
  private async screen(c: Screening, parts: Part[], actions: WatchAction[] = ACTIONS, all?: Row[], refusing: WatchAction[] = ['BLOCK']): Promise<Screened | null> {
    const rules = (all ?? (await this.rulesFor(c.spaceId))).filter((r) => actions.includes(r.action));
    if (rules.length === 0) return null;
    const folds = parts.map((p) => fold(p.text));
    let hits: Matches;
    const budgetMs = this.settings.matchBudgetMs ?? MATCH_BUDGET_MS;
    try {
      hits = matchAll(compileRules(rules.map((r) => ({ kind: r.kind, pattern: r.pattern, siteWide: r.space_id === null }))), folds.map((f) => f.folded), budgetMs, { retryBudgetMs: budgetMs * 4, steps: this.settings.matchingSteps });
    } catch (err) {
      // Out of time, or a rule that threw while compiled or run (a RangeError when a regex's backtracking outgrows V8's stack): the
      // text could not be screened, so it is held or refused as for a time-out, never let through nor answered INTERNAL.
      if (err instanceof MatchTimeout) this.log.warn({ spaceId: c.spaceId }, 'watched-word matching timed out');
      else this.log.error({ err, spaceId: c.spaceId }, 'watched-word matching threw');
      return { matched: [], masked: parts.map(() => null), timedOut: true };
    }
    const matched = new Set<Row>();
    const masked: Array<string | null> = [];
    for (const [p, part] of parts.entries()) {
      const censor: Array<[number, number]> = [];
      for (const [i, rule] of rules.entries()) {
        if (hits[p][i].length === 0) continue;
        matched.add(rule);
        if (refusing.includes(rule.action) || (rule.action === 'CENSOR' && !part.maskable)) await this.refuse(c, rule, part.field);
        if (rule.action === 'CENSOR') censor.push(...hits[p][i].map(([a, b]) => [folds[p].origin[a], folds[p].origin[b]] as [number, number]));
      }
      masked.push(censor.length ? maskRanges(part.text, censor) : null);
    }
    return { matched: [...matched], masked, timedOut: false };
  }

  /**
   * Refusals are automatic actions too: logged, in a transaction of their own, once per user and
   * rule in REFUSALS_LOGGED_EVERY_MINUTES (refused posts cost no rate limit, so a script retrying one
   * would otherwise fill the append-only log).
   */
  private async refuse(c: Screening, rule: Row, field: string): Promise<never> {
    // Once per user and rule a while: the throttle decides, atomically, with no log search.
    if ((await this.limiter.throttle([[REFUSALS_LOGGED, `${c.viewer.id}:${rule.id}`]])) === 0) {
      await this.uow.run((tx) =>
        this.audit.append(tx, { actorId: null, action: 'automod.block', targetType: 'user', targetId: c.viewer.id, spaceId: c.spaceId, reason: rule.public_reason, after: { ruleId: rule.id, kind: c.kind, field } }),
      );
    }
    const what = c.kind === 'profile' || c.kind === 'poll' ? c.kind : c.kind === 'heading' ? 'title' : 'post';
    throw AppError.badField(field, `Your ${what} was refused: ${rule.public_reason}`);
  }

  /** FLAG rules put the post in the review queue, as an automatic report would; censoring is logged. */
  async stored(tx: Tx, c: Contribution, verdict: Verdict, s: StoredContribution): Promise<void> {
    await this.recordRulings(tx, verdict.reasons, c.spaceId, { type: ReportTargetType.POST, id: s.postId });
  }

  /** The CENSOR and FLAG rules a verdict's reasons name, logged, and the flags opened as an AUTOMOD review item on `target`. */
  private async recordRulings(tx: Tx, reasons: string[], spaceId: string | null, target: { type: ReportTargetType.POST | ReportTargetType.USER; id: string }): Promise<void> {
    const flags = reasons.filter((r) => r.startsWith('flag:'));
    const censored = reasons.filter((r) => r.startsWith('censor:'));
    const targetType = target.type.toLowerCase();
    if (censored.length > 0) {
      await this.audit.append(tx, { actorId: null, action: 'automod.censor', targetType, targetId: target.id, spaceId, after: { ruleIds: censored.map((r) => r.slice(7)) } });
    }
    if (flags.length === 0) return;
    await this.reviewItems.open(tx, {
      spaceId, targetType: target.type, targetId: target.id, kind: 'AUTOMOD', actorId: null, action: 'flagged by automod', note: flags.map((f) => f.slice(5)).join(', '),
    });
    await this.audit.append(tx, { actorId: null, action: 'automod.flag', targetType, targetId: target.id, spaceId, after: { ruleIds: flags.map((f) => f.slice(5)) } });
  }
}

/** `reasons` with the FLAG and CENSOR rules among `matched` noted (`flag:<rule>`, `censor:<rule>`) for `recordRulings`, each once. */
function withRulings(reasons: string[], matched: Row[]): string[] {
  const out = new Set(reasons);
  for (const rule of matched) if (rule.action === 'FLAG' || rule.action === 'CENSOR') out.add(`${rule.action.toLowerCase()}:${rule.id}`);
  return [...out];
}

/** `text` with each range replaced by as many ■ as it has characters (overlapping ranges merged). */
function maskRanges(text: string, ranges: Array<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    if (a < at) continue;
    out += text.slice(at, a) + CENSOR_MASK.repeat(Math.max(1, [...text.slice(a, b)].length));
    at = b;
  }
  return out + text.slice(at);
}
