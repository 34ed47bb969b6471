import { Context, Field, Float, Int, ObjectType, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { LEVEL_RANK } from '../../../access/src/access-level';
import { AccessService } from '../../../access/src/access.service';
import type { GqlContext } from '../../../core/src/graphql/context';
import { SpaceModel } from '../../../spaces/src/spaces/space.model';
import { SpaceModeration } from '../space-moderation';

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
    private readonly settings: SpaceModeration,
    private readonly access: AccessService,
  ) {}

  @ResolveField(() => SpaceModerationSettings, { nullable: true, description: 'For the space’s moderators (null otherwise).' })
  async moderationSettings(@Parent() space: SpaceModel, @Context() ctx: GqlContext): Promise<SpaceModerationSettings | null> {
    if ((await this.access.rankOn(ctx.viewer, space.id)) < LEVEL_RANK.MODERATE) return null;
    const s = await this.settings.of(space.id, { viewer: ctx.viewer });
    return {
      autoHideThreshold: s.autoHideThreshold,
      premoderation: s.premoderation,
      spamThreshold: s.spamThreshold,
      escalationLadder: s.escalation.map((step) => ({ violations: step.violations, action: step.action, hours: step.hours ?? null })),
    };
  }
}
