import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { IsDate, IsEnum, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { TopicTimerKind } from '../topic-timer.model';
import { ID_VERSION } from '../../../../core/src/ids';

/** The furthest ahead a timer may be set: a year (a plan past that is a forgotten one). */
export const TIMER_MAX_HOURS = 8760;

@InputType()
export class SetTopicTimerInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => TopicTimerKind) @IsEnum(TopicTimerKind, { message: 'must be a topic timer kind' }) kind!: TopicTimerKind;
  @Field({ nullable: true, description: 'When it fires: in the future, at most a year ahead. Give `at` or `afterHours`, not both; CLOSE_AFTER_LAST_POST takes `afterHours` only.' })
  @IsOptional() @IsDate({ message: 'must be a date and time' })
  at?: Date;
  @Field(() => Int, { nullable: true, description: '1–8760 hours from now (CLOSE_AFTER_LAST_POST: from the topic’s last activity, moved by each new post).' })
  @IsOptional() @IsInt() @Min(1) @Max(TIMER_MAX_HOURS)
  afterHours?: number;
  @Field(() => ID, {
    nullable: true,
    description: 'PUBLISH_TO_BOARD (required there, refused with any other kind): the forum board the topic is published to, other than its own, in a space you moderate.',
  })
  @IsOptional() @IsUUID(ID_VERSION, { message: 'must be a board id' })
  boardId?: string;
}

@InputType()
export class RemoveTopicTimerInput {
  @Field(() => ID) @IsUUID(ID_VERSION, { message: 'must be a topic id' }) topicId!: string;
  @Field(() => TopicTimerKind) @IsEnum(TopicTimerKind, { message: 'must be a topic timer kind' }) kind!: TopicTimerKind;
}
