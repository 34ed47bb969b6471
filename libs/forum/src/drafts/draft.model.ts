import { Field, ID, Int, ObjectType } from '@nestjs/graphql';
import { ConnectionType } from '../../../core/src/graphql/pagination';

@ObjectType('DraftTarget', { description: 'What a draft is for: a new topic in a board, or a reply in a topic (one of the two ids is set). Give it back to draft and deleteDraft.' })
export class DraftTargetModel {
  @Field(() => ID, { nullable: true }) boardId!: string | null;
  @Field(() => ID, { nullable: true }) topicId!: string | null;
}

@ObjectType('Draft', {
  description:
    'A new topic or a reply its author is writing, kept on the server (saveDraft) until they post it or delete it. Its text is the author’s own, shown to them alone, ' +
    'as written (never rendered); what it is for (board, topic, replyTo) resolves only while they may read it.',
})
export class DraftModel {
  @Field(() => ID) id!: string;
  @Field(() => DraftTargetModel) target!: DraftTargetModel;
  @Field(() => Int, { description: 'Raised by each save: the sequence the next saveDraft gives back.' }) sequence!: number;
  @Field(() => String, { nullable: true, description: 'A new topic’s title as written so far.' }) title!: string | null;
  @Field({ description: 'The markdown as written so far.' }) body!: string;
  @Field(() => [String], { description: 'A new topic’s tags.' }) tags!: string[];
  @Field({ description: 'When the draft was started (a draft posted or deleted starts again).' }) createdAt!: Date;
  @Field({ description: 'When it was last saved; the list of drafts is newest first by it.' }) updatedAt!: Date;
  replyToPostId!: string | null;
}

export const DraftConnection = ConnectionType(DraftModel, 'Draft');

export interface DraftRow {
  id: string;
  board_id: string | null;
  topic_id: string | null;
  reply_to_post_id: string | null;
  title: string | null;
  /** Null once posted or deleted: the row stays for its sequence. */
  body: string | null;
  tags: string[];
  sequence: number;
  created_at: Date;
  updated_at: Date;
}

export function toDraftModel(r: DraftRow & { body: string }): DraftModel {
  return {
    id: r.id,
    target: { boardId: r.board_id, topicId: r.topic_id },
    sequence: r.sequence,
    title: r.title,
    body: r.body,
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    replyToPostId: r.reply_to_post_id,
  };
}
