import DataLoader from 'dataloader';
import { Injectable } from '@nestjs/common';
import { Args, Context, Field, ID, InputType, Int, Mutation, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { IsBoolean, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { AccessLevel } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { AuditLog } from '../../core/src/audit/audit-log';
import { Tx, UnitOfWork } from '../../core/src/database/unit-of-work';
import { AppError } from '../../core/src/errors';
import type { GqlContext } from '../../core/src/graphql/context';
import { Viewer } from '../../core/src/graphql/viewer';
import { SpaceModel, SpaceRow, toSpaceModel } from '../../spaces/src/spaces/space.model';
import { SPACE_COLUMNS } from '../../spaces/src/spaces.repository';
import { SpacesService } from '../../spaces/src/spaces.service';
import { ID_VERSION } from '../../core/src/ids';
import { ArticleLoaders } from './articles/article.loaders';

export const DEFAULT_VERIFICATION_DAYS = 90;
export const MAX_VERIFICATION_DAYS = 3650;

export interface KnowledgeSettings {
  /** Publishing needs an editor who wrote none of the revisions since the last publication, after a review request. */
  twoPersonReview: boolean;
  verificationIntervalDays: number;
}

@ObjectType('KnowledgeSettings', { description: 'How a space runs its knowledge base.' })
export class KnowledgeSettingsModel implements KnowledgeSettings {
  @Field({ description: 'Articles are submitted for review and published by an editor other than their authors.' }) twoPersonReview!: boolean;
  @Field(() => Int, { description: 'Default days between verifications of an article (90 unless set).' }) verificationIntervalDays!: number;
}

@InputType()
export class KnowledgeSettingsInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a space id' }) spaceId!: string;
  @Field({ nullable: true }) @IsOptional() @IsBoolean() twoPersonReview?: boolean;
  @Field(() => Int, { nullable: true, description: `1–${MAX_VERIFICATION_DAYS} days.` })
  @IsOptional() @IsInt() @Min(1) @Max(MAX_VERIFICATION_DAYS)
  verificationIntervalDays?: number;
}

/**
 * A space's knowledge-base settings (`spaces.knowledge`, like `spaces.moderation`) with the
 * defaults applied, read once per request when a viewer is given.
 */
@Injectable()
export class KnowledgeSettingsService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLog,
    private readonly spaces: SpacesService,
    private readonly articles: ArticleLoaders,
  ) {}

  async of(spaceId: string, scope: { viewer?: Viewer; tx?: Tx } = {}): Promise<KnowledgeSettings> {
    if (scope.viewer && !scope.tx) return this.loader(scope.viewer).load(spaceId);
    const sql = `SELECT knowledge FROM spaces WHERE id = $1`;
    const rows: Array<{ knowledge: Record<string, unknown> | null }> = scope.tx ? await scope.tx.query(sql, [spaceId]) : await this.ds.query(sql, [spaceId]);
    return toSettings(rows[0]?.knowledge ?? null);
  }

  /**
   * The settings as they stand in `tx`, the space's row held FOR SHARE: a change (`set`, which
   * updates that row) waits for the transaction, or committed first and is read here. The
   * viewer's request reads them so from then on (no second statement).
   */
  async held(tx: Tx, spaceId: string, viewer: Viewer): Promise<KnowledgeSettings> {
    const row = await tx.one<{ knowledge: Record<string, unknown> | null }>(`SELECT knowledge FROM spaces WHERE id = $1 FOR SHARE`, [spaceId]);
    const settings = toSettings(row?.knowledge ?? null);
    this.loader(viewer).clear(spaceId).prime(spaceId, settings);
    return settings;
  }

  /** Batched per request: a list of spaces asking for their settings costs one statement. */
  private loader(viewer: Viewer): DataLoader<string, KnowledgeSettings> {
    return viewer.memoize('loader:knowledge-settings', () => new DataLoader<string, KnowledgeSettings>(async (ids) => {
      const rows: Array<{ id: string; knowledge: Record<string, unknown> | null }> = await this.ds.query(
        `SELECT id, knowledge FROM spaces WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      const byId = new Map(rows.map((r) => [r.id, r.knowledge]));
      return ids.map((id) => toSettings(byId.get(id) ?? null));
    }));
  }

  /**
   * Space admins. A new default interval moves the due dates of the articles that use it.
   * Answers the space and its settings as the change's transaction read them once written, and
   * the request's later fields read the settings so (primed): read after the commit, a pool with
   * no connection free then answered INTERNAL, the change saved all the same.
   */
  async set(viewer: Viewer, input: KnowledgeSettingsInput): Promise<SpaceModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    await this.access.require(viewer, input.spaceId, AccessLevel.ADMIN, 'Space not found');
    if (input.twoPersonReview == null && input.verificationIntervalDays == null) {
      throw AppError.badInput(['twoPersonReview', 'verificationIntervalDays'].map((field) => ({ field, message: 'give at least one setting' })));
    }
    const { space, after } = await this.uow.run(async (tx) => {
      // The space's row held as a grant or a revocation holds it, then the admin judged again as
      // they are now: one whose grant was revoked (or who was demoted) while this waited changes nothing.
      await this.spaces.holdSpace(tx, viewer, input.spaceId);
      const before = await this.of(input.spaceId, { tx });
      await tx.query(
        `UPDATE spaces SET knowledge = knowledge || jsonb_strip_nulls(jsonb_build_object('twoPersonReview', $2::boolean, 'verificationIntervalDays', $3::int)),
                updated_at = now() WHERE id = $1`,
        [input.spaceId, input.twoPersonReview ?? null, input.verificationIntervalDays ?? null],
      );
      if (input.verificationIntervalDays != null) {
        await tx.query(
          `UPDATE articles a SET verified_until = a.verified_at + make_interval(days => $2), updated_at = now()
             FROM topics t
            WHERE t.id = a.topic_id AND t.space_id = $1 AND a.verification_interval_days IS NULL AND a.verified_at IS NOT NULL`,
          [input.spaceId, input.verificationIntervalDays],
        );
      }
      const [row] = await tx.query<SpaceRow & { knowledge: Record<string, unknown> | null }>(`SELECT ${SPACE_COLUMNS}, knowledge FROM spaces WHERE id = $1`, [input.spaceId]);
      const now = toSettings(row.knowledge);
      await this.audit.append(tx, { actorId: viewer.id, action: 'space.knowledge_settings', targetType: 'space', targetId: input.spaceId, spaceId: input.spaceId, before, after: now });
      return { space: toSpaceModel(row), after: now };
    });
    this.loader(viewer).clear(input.spaceId).prime(input.spaceId, after);
    // The due dates it moved: the articles this request read are read again after it.
    if (input.verificationIntervalDays != null) this.articles.forgetArticles(viewer);
    return space;
  }
}

@Resolver(() => SpaceModel)
export class KnowledgeSettingsResolver {
  constructor(
    private readonly settings: KnowledgeSettingsService,
  ) {}

  @ResolveField(() => KnowledgeSettingsModel, { description: 'How the space’s knowledge base runs (review, verification).' })
  knowledgeSettings(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<KnowledgeSettings> {
    return this.settings.of(space.id, { viewer: ctx.viewer });
  }

  @Mutation(() => SpaceModel, { description: 'Space admins: two-person review and the default verification interval of the knowledge base.' })
  setKnowledgeSettings(@Args('input') input: KnowledgeSettingsInput, @Context() ctx: GqlContext): Promise<SpaceModel> {
    return this.settings.set(ctx.viewer, input);
  }
}

function toSettings(k: Record<string, unknown> | null): KnowledgeSettings {
  return {
    twoPersonReview: k?.twoPersonReview === true,
    verificationIntervalDays: Number(k?.verificationIntervalDays ?? DEFAULT_VERIFICATION_DAYS),
  };
}
