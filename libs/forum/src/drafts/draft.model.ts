import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';
import { TopicKind } from '../forum.enums';

@ObjectType('DraftTarget', {
  description: 'What a draft is for: a new topic in a board, a reply in a topic, or an edit of a post (one of the three ids is set). Give it back to draft and deleteDraft.',
})
export class DraftTargetModel {
  @Field(() => ID, { nullable: true }) boardId!: string | null;
  @Field(() => ID, { nullable: true }) topicId!: string | null;
  @Field(() => ID, { nullable: true }) postId!: string | null;
}

@ObjectType('Draft', {
  description:
    'A new topic, a reply or an edit its author is writing, kept on the server (saveDraft) until they post it or delete it. Its text is the author’s own, shown to them alone, ' +
    'as written (never rendered); what it is for (board, topic, replyTo, post) resolves only while they may read it.',
})
export class DraftModel {
  @Field(() => ID) id!: string;
  @Field(() => DraftTargetModel) target!: DraftTargetModel;
  @Field(() => Int, { description: 'Raised by each save: the sequence the next saveDraft gives back.' }) sequence!: number;
  @Field(() => String, { nullable: true, description: 'A new topic’s title, or a first post’s edited title, as written so far.' }) title!: string | null;
  @Field({ description: 'The markdown as written so far.' }) body!: string;
  @Field(() => [String], { description: 'A new topic’s tags, or a first post’s edited tags.' }) tags!: string[];
  @Field(() => TopicKind, { nullable: true, description: 'A new topic’s kind, when one was chosen.' }) kind!: TopicKind | null;
  @Field({ description: 'When the draft was started (a draft posted or deleted starts again).' }) createdAt!: Date;
  @Field({ description: 'When it was last saved; the list of drafts is newest first by it.' }) updatedAt!: Date;
  replyToPostId!: string | null;
  /** An edit's draft: when its post was last edited (or written) as the draft began. */
  baseEditedAt!: Date | null;
}

export const DraftConnection = ConnectionType(DraftModel, 'Draft');

export interface DraftRow {
  id: string;
  board_id: string | null;
  topic_id: string | null;
  post_id: string | null;
  reply_to_post_id: string | null;
  title: string | null;
  /** Null once posted or deleted: the row stays for its sequence. */
  body: string | null;
  tags: string[];
  kind: TopicKind | null;
  base_edited_at: Date | null;
  sequence: number;
  created_at: Date;
  updated_at: Date;
}

export function toDraftModel(r: DraftRow & { body: string }): DraftModel {
  return {
    id: r.id,
    target: { boardId: r.board_id, topicId: r.topic_id, postId: r.post_id },
    sequence: r.sequence,
    title: r.title,
    body: r.body,
    tags: r.tags,
    kind: r.kind,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    replyToPostId: r.reply_to_post_id,
    baseEditedAt: r.base_edited_at,
  };
}
