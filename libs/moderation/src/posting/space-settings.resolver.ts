import { Context, Field, Float, Int, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { DataSource } from 'typeorm';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import { GqlContext } from '../../../core/src/graphql/context';
import { SpaceModel } from '../../../spaces/src/spaces/space.model';
import { DEFAULT_AUTO_HIDE_THRESHOLD } from '../reports/reports.service';
import { DEFAULT_LADDER } from '../appeals/escalation';
import { DEFAULT_SPAM_THRESHOLD } from '../spam/spam-filter';

@ObjectType('EscalationStep')
export class EscalationStep {
  @Field(() => Int) violations!: number;
  @Field() action!: string;
  @Field(() => Int, { nullable: true }) hours!: number | null;
}

@ObjectType('SpaceModerationSettings')
export class SpaceModerationSettings {
  @Field(() => Int) autoHideThreshold!: number;
  @Field({ description: 'OFF, NEW_USERS or ALL.' }) premoderation!: string;
  @Field(() => Float) spamThreshold!: number;
  @Field(() => [EscalationStep]) escalationLadder!: EscalationStep[];
}

@Resolver(() => SpaceModel)
export class SpaceModerationResolver {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
  ) {}

  @ResolveField(() => SpaceModerationSettings, { nullable: true, description: 'For the space’s moderators (null otherwise).' })
  async moderationSettings(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<SpaceModerationSettings | null> {
    if ((await this.access.rankOn(ctx.viewer, space.id)) < LEVEL_RANK.MODERATE) return null;
    const [row] = await this.ds.query(`SELECT moderation FROM spaces WHERE id = $1`, [space.id]);
    return {
      autoHideThreshold: Number(row?.moderation?.autoHideThreshold ?? DEFAULT_AUTO_HIDE_THRESHOLD),
      premoderation: row?.moderation?.premoderation ?? 'OFF',
      spamThreshold: Number(row?.moderation?.spamThreshold ?? DEFAULT_SPAM_THRESHOLD),
      escalationLadder: (Array.isArray(row?.moderation?.escalation) ? row.moderation.escalation : DEFAULT_LADDER).map((s: EscalationStep) => ({
        violations: s.violations,
        action: s.action,
        hours: s.hours ?? null,
      })),
    };
  }
}
