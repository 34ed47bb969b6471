import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessLevel, LEVEL_RANK } from '../../access/src/access-level';
import { AccessService } from '../../access/src/access.service';
import { AppError } from '../../core/src/errors';
import { Viewer } from '../../core/src/graphql/viewer';
import { isUuid } from '../../core/src/ids';
import { ForumLoaders } from '../../forum/src/forum.loaders';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { TopicsService } from '../../forum/src/topics/topics.service';
import { WatchedWordsRule } from '../../moderation/src/automod/watched-words';
import { BoardKind } from '../../spaces/src/boards/board.model';
import { SpacesLoader } from '../../spaces/src/spaces.loader';
import { PromotePostInput } from './articles/dto/article.inputs';
import { ACCEPTED_ONLY, KnowledgeBoard, Promotion } from './knowledge-board';

/**
 * Knowledge capture: a forum answer becomes a draft article that credits the answer's and
 * the question's authors and links back to the thread; once published, the thread shows it
 * (`Topic.knowledgeArticles`). Anyone who may write in the knowledge board promotes an
 * accepted answer; editors of that board's space promote any post.
 */
@Injectable()
export class PromotionService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly forum: ForumLoaders,
    private readonly spaces: SpacesLoader,
    private readonly topics: TopicsService,
    private readonly board: KnowledgeBoard,
    private readonly automod: WatchedWordsRule,
  ) {}

  async promote(viewer: Viewer, input: PromotePostInput): Promise<TopicModel> {
    if (!viewer.signedIn) throw AppError.unauthenticated();
    const post = isUuid(input.postId) ? await this.forum.post(viewer, input.postId) : null;
    const thread = post ? await this.forum.topic(viewer, post.topicId) : null;
    if (!post || !thread || post.view !== 'full') throw AppError.notFound('Post not found');
    if (post.state !== 'VISIBLE' || thread.state !== 'VISIBLE') throw AppError.badField('postId', 'must be a visible post');
    if (thread.kind === 'ARTICLE' || thread.kind === 'IDEA') throw AppError.badField('postId', 'must be a post of a forum thread');
    if (post.bodySourceText === undefined) throw new Error('the post loader returned a post without its source');
    // The markdown is its author's and the moderators' to read (Post.bodySource): anybody else
    // copies it as readers see it, with what the thread's censor rules mask masked.
    const ownSource = post.authorId === viewer.id || post.viewerRank >= LEVEL_RANK.MODERATE;
    const source = ownSource ? post.bodySourceText : await this.automod.maskCensored(viewer, thread.spaceId, post.bodySourceText);
    const target = await this.spaces.board(viewer, input.boardId);
    if (!target) throw AppError.notFound('Board not found');
    if (target.kind !== BoardKind.KNOWLEDGE) throw AppError.badField('boardId', 'must be a knowledge board');
    const rank = await this.access.require(viewer, target.spaceId, AccessLevel.PARTICIPATE, 'Board not found');
    const acceptedOnly = rank < LEVEL_RANK.MODERATE;
    if (acceptedOnly && thread.acceptedPostId !== post.id) throw AppError.forbidden(ACCEPTED_ONLY);
    // Early, before automod and posting limits see the post; the board kind checks again under the board's lock,
    // and the post itself under its own, and its thread's state and accepted answer under the thread's row lock
    // (KnowledgeBoard.assertPromotable: moved, hidden, edited, unaccepted since this read).
    if (await this.board.hasPromoted(this.ds, post.id, target.id, { userId: viewer.id!, editor: rank >= LEVEL_RANK.MODERATE })) {
      throw AppError.badField('postId', 'is already an article of this board');
    }
    const credits: Promotion['credits'] = [{ userId: post.authorId, role: 'ANSWER' }];
    if (post.number !== 1 && thread.authorId !== post.authorId) credits.push({ userId: thread.authorId, role: 'QUESTION' });
    return this.board.promoting(viewer, { postId: post.id, threadId: thread.id, source: post.bodySourceText, credits, acceptedOnly }, () =>
      this.topics.create(viewer, { boardId: target.id, title: input.title, body: source, parentId: input.parentId }),
    );
  }
}
