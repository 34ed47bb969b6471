import { Injectable } from '@nestjs/common';
import { Args, Context, Field, ID, InputType, Mutation, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { IsOptional, IsString, IsUUID } from 'class-validator';
import { MaxCharacters, PlainText } from '../../../core/src/graphql/validators';
import { DataSource } from 'typeorm';
import { UnitOfWork } from '../../../core/src/database/unit-of-work';
import { AppError } from '../../../core/src/errors';
import type { GqlContext } from '../../../core/src/graphql/context';
import { Viewer } from '../../../core/src/graphql/viewer';
import { ID_VERSION, isUuid, newId } from '../../../core/src/ids';
import { SanctionModel } from '../sanctions/sanction.model';
import { SignedTokens } from '../../../core/src/signed-tokens';
import { APPEAL_TOKEN_PURPOSE } from '../../../identity/src/auth/barred';
import { ReviewItems } from '../reports/review-items';
import { ReportTargetType } from '../reports/review.model';
import DataLoader from 'dataloader';

const APPEALS_LOADER = 'loader:appeals';

@InputType()
export class AppealInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a sanction id' }) sanctionId!: string;
  @Field({ description: 'Why the sanction should be lifted: plain text, 10–2,000 characters.' })
  @PlainText(2000, { min: 10 })
  message!: string;
  @Field({
    nullable: true,
    description: 'For a member suspended or banned site-wide, who cannot sign in: the token their refused sign-in (or password reset) returned (extensions.appealToken).',
  })
  @IsOptional() @IsString() @MaxCharacters(200)
  appealToken?: string;
}

@ObjectType('Appeal')
export class AppealModel {
  @Field(() => ID) id!: string;
  @Field(() => ID) sanctionId!: string;
  @Field() message!: string;
  @Field({ description: 'PENDING, GRANTED (the sanction was lifted) or DENIED.' }) status!: string;
  @Field(() => String, { nullable: true }) decisionNote!: string | null;
  @Field(() => Date, { nullable: true }) decidedAt!: Date | null;
  @Field() createdAt!: Date;
}

interface AppealRow {
  id: string;
  sanction_id: string;
  message: string;
  status: string;
  decision_note: string | null;
  decided_at: Date | null;
  created_at: Date;
}
const toModel = (r: AppealRow) =>
  Object.assign(new AppealModel(), { id: r.id, sanctionId: r.sanction_id, message: r.message, status: r.status, decisionNote: r.decision_note, decidedAt: r.decided_at, createdAt: r.created_at });

/**
 * One appeal per sanction, by the sanctioned user. It enters the review queue of the
 * sanction's space (site-wide sanctions: global moderators), and a moderator other
 * than the one who sanctioned decides it (see ReportsService.resolve).
 */
@Injectable()
export class AppealsService {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly tokens: SignedTokens,
    private readonly reviewItems: ReviewItems,
  ) {}

  /** A signed-in member, or one barred site-wide with the appeal token their refused sign-in returned. */
  async appeal(viewer: Viewer, input: AppealInput): Promise<AppealModel> {
    const appellant = viewer.id ?? (input.appealToken ? await this.tokens.verify(APPEAL_TOKEN_PURPOSE, input.appealToken) : null);
    if (!appellant) {
      throw AppError.unauthenticated(input.appealToken ? 'This appeal token is invalid or has expired: signing in again gives a new one' : undefined);
    }
    const [s] = isUuid(input.sanctionId)
      ? await this.ds.query(`SELECT id, user_id, space_id, kind, lifted_at, expires_at FROM sanctions WHERE id = $1`, [input.sanctionId])
      : [];
    if (!s || s.user_id !== appellant) throw AppError.notFound('Sanction not found');
    if (s.kind === 'WARNING') throw AppError.badField('sanctionId', 'warnings are acknowledged, not appealed');
    if (s.lifted_at || (s.expires_at && new Date(s.expires_at) <= new Date())) throw AppError.conflict('This sanction is no longer in force');
    const row = await this.uow.run(async (tx) => {
      // Again under a share lock: a lift racing this appeal either committed first (refused
      // here) or waits, then finds the appeal and grants it.
      const [now] = await tx.query<{ in_force: boolean }>(
        `SELECT lifted_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS in_force FROM sanctions WHERE id = $1 FOR SHARE`,
        [s.id],
      );
      if (!now?.in_force) throw AppError.conflict('This sanction is no longer in force');
      // One appeal per sanction, guarded by its unique key alone: a second appeal, racing or
      // late, finds the first's row and rolls back, review item and all.
      const item = await this.reviewItems.open(tx, {
        spaceId: s.space_id, targetType: ReportTargetType.SANCTION, targetId: s.id, kind: 'APPEAL', actorId: appellant, action: 'appealed', note: input.message,
      });
      const rows = await tx.query<AppealRow>(
        `INSERT INTO appeals (id, sanction_id, user_id, message, review_item_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sanction_id) DO NOTHING RETURNING *`,
        [newId(), s.id, appellant, input.message, item.id],
      );
      if (rows.length === 0) throw AppError.conflict('This sanction was already appealed');
      return rows[0];
    });
    viewer.forget(APPEALS_LOADER);
    return toModel(row);
  }

  /** A sanction's appeal; the sanctions of one request are looked up together (one statement). */
  ofSanction(viewer: Viewer, sanctionId: string): Promise<AppealModel | null> {
    const loader = viewer.memoize(
      APPEALS_LOADER,
      () =>
        new DataLoader<string, AppealModel | null>(async (ids) => {
          const rows: AppealRow[] = await this.ds.query(`SELECT * FROM appeals WHERE sanction_id = ANY($1::uuid[])`, [ids]);
          const bySanction = new Map(rows.map((r) => [r.sanction_id, toModel(r)]));
          return ids.map((id) => bySanction.get(id) ?? null);
        }),
    );
    return loader.load(sanctionId);
  }
}

@Resolver(() => SanctionModel)
export class AppealsResolver {
  constructor(private readonly service: AppealsService) {}

  @Mutation(() => AppealModel, { description: 'Appeal a sanction (once). A moderator other than the one who issued it decides.' })
  appealSanction(@Args('input') input: AppealInput, @Context() ctx: GqlContext) {
    return this.service.appeal(ctx.viewer, input);
  }

  @ResolveField(() => AppealModel, { nullable: true })
  appeal(@Parent() s: SanctionModel, @Context() ctx: GqlContext) {
    return this.service.ofSanction(ctx.viewer, s.id);
  }
}
