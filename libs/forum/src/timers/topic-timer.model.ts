import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum TopicTimerKind {
  CLOSE = 'CLOSE',
  OPEN = 'OPEN',
  CLOSE_AFTER_LAST_POST = 'CLOSE_AFTER_LAST_POST',
  UNPIN = 'UNPIN',
  DELETE = 'DELETE',
}
registerEnumType(TopicTimerKind, {
  name: 'TopicTimerKind',
  description:
    'What a topic timer does when it is due: CLOSE or OPEN the topic, CLOSE_AFTER_LAST_POST (close it once it has had no new visible post for `afterHours`), UNPIN it, or DELETE it (as deleting its first post does).',
});

/** Kinds everyone who reads the topic is told of ("This topic will close in 3 days"); the others are the moderators' plans. */
export const PUBLIC_TIMER_KINDS: readonly TopicTimerKind[] = [TopicTimerKind.CLOSE, TopicTimerKind.OPEN, TopicTimerKind.CLOSE_AFTER_LAST_POST];

/** A planned change to a topic, done as the moderator who set it when it is due. */
@ObjectType('TopicTimer')
export class TopicTimerModel {
  @Field(() => TopicTimerKind) kind!: TopicTimerKind;
  @Field({ description: 'When it fires. For CLOSE_AFTER_LAST_POST, the last activity plus `afterHours`: each new visible post moves it.' })
  at!: Date;
  @Field(() => Int, { nullable: true, description: 'CLOSE_AFTER_LAST_POST: the hours without a new post that close the topic.' })
  afterHours!: number | null;
  @Field() createdAt!: Date;

  topicId!: string;
  /** The moderator it fires as; TopicTimer.setBy shows them to moderators only. */
  setById!: string;
  /** Whether the viewer may moderate the topic (and so see setBy). */
  shownToModerator = false;
}

export interface TopicTimerRow {
  id: string;
  topic_id: string;
  kind: TopicTimerKind;
  due_at: Date;
  after_hours: number | null;
  set_by: string;
  created_at: Date;
}

export function toTopicTimerModel(r: TopicTimerRow): TopicTimerModel {
  return Object.assign(new TopicTimerModel(), {
    kind: r.kind,
    at: r.due_at,
    afterHours: r.after_hours,
    createdAt: r.created_at,
    topicId: r.topic_id,
    setById: r.set_by,
  });
}
