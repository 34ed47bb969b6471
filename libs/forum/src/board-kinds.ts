import { Injectable } from '@nestjs/common';
import { Tx } from '../../core/src/database/unit-of-work';
import { Viewer } from '../../core/src/graphql/viewer';
import { BoardKind, BoardModel } from '../../spaces/src/boards/board.model';
import { Connection } from '../../core/src/graphql/pagination';
import { TopicKind } from './forum.enums';
import { TopicModel } from './topics/topic.model';

/** A topic being created in a board of a plugged-in kind. */
export interface NewTopic {
  viewer: Viewer;
  board: BoardModel;
  topicId: string;
  postId: string;
  title: string;
  /** The viewer's level in the board's space. */
  rank: number;
  /** The content state the forum chose (PENDING when held by pre-moderation). */
  state: string;
  /** Kind-specific input (e.g. a parent article), as given to createTopic. */
  options: Record<string, unknown>;
}

/** A topic moving to another board of the same kind (see `beforeMove`). */
export interface TopicMove {
  topicId: string;
  fromBoardId: string;
  toBoardId: string;
  fromSpaceId: string;
  toSpaceId: string;
}

/**
 * What a board kind other than FORUM adds to topics. Idea boards and the knowledge base
 * plug in here at start-up, so the forum never depends on them: the forum stores the topic
 * and its first post; the kind's `created` runs in the same transaction to add its rows.
 */
export interface BoardKindBehaviour {
  readonly boardKind: BoardKind;
  /** The kind every topic of such a board has. */
  readonly topicKind: TopicKind;
  /** Checks kind-specific input before anything is written (throw AppError to refuse). */
  validate?(topic: Omit<NewTopic, 'topicId' | 'postId' | 'state'>): Promise<void>;
  /** Initial content state instead of the forum's VISIBLE (e.g. DRAFT for articles); PENDING from pre-moderation wins. */
  initialState?(topic: Omit<NewTopic, 'topicId' | 'postId' | 'state'>): string;
  created(tx: Tx, topic: NewTopic): Promise<void>;
  /**
   * Runs in moveTopic's transaction before the topic's row moves: throw AppError to refuse
   * the move (e.g. merged ideas leaving their space), or move the kind's own rows with it
   * (an article's place in the knowledge tree).
   */
  beforeMove?(tx: Tx, move: TopicMove): Promise<void>;
  /**
   * Runs once moveTopic's transaction committed, for the request that moved the topic: drops
   * what the kind cached for `viewer` that the move changed (an article's row, its board's and
   * its new board's trees), so the fields resolved after it read them as they are now.
   */
  moved?(viewer: Viewer, topicId: string): void;
  /**
   * Runs when a request drops what it read of a topic after writing to it (`ForumLoaders.forget`:
   * a moderator's step on its first post, a lock, an edit of the kind's own): drops what the kind
   * cached for `viewer` that shows topics as it read them (an article tree's, a thread's promoted
   * articles), so the fields resolved after it read them as they are now. Called for every topic.
   */
  forgotten?(viewer: Viewer, topicId: string): void;
  /**
   * The kind announces its own topics to those watching the board (an article at its first
   * publication), so the forum's new-post notifications leave their first posts alone.
   */
  readonly announcesTopics?: boolean;
  /** A condition on a topic (alias `t`) that the board's topic lists add: merged ideas stay out of them. */
  readonly listedSql?: string;
  /**
   * A condition on a topic (alias `t`) that the board's suggestions of similar topics add to
   * `listedSql`'s: archived articles stay in their board's lists but leave its suggestions.
   */
  readonly suggestedSql?: string;
  /** `Board.topics(sort: TRENDING)`, for kinds that have a notion of trending (idea boards). */
  trending?(viewer: Viewer, board: BoardModel, args: { first?: number; after?: string; tag?: string }): Promise<Connection<TopicModel>>;
  /**
   * Runs when moderation (or anyone) moves a topic's first post to another content state,
   * inside that transaction, before anything is written: returns the state to use instead,
   * or throws AppError to refuse. Lets a kind keep its own workflow in charge of visibility
   * (a never-published article is published by its review, not by approving its post).
   * Called for every topic; return `to` for topics that are not yours.
   */
  firstPostState?(tx: Tx, change: { topicId: string; to: string }): Promise<string>;
  /**
   * Runs once a topic's first post (so the topic) moved to another content state, in that
   * transaction: for a kind's own rows that follow it (an idea's votes counting on the idea
   * it was merged into). Called for every topic; ignore topics that are not yours.
   */
  firstPostStateChanged?(tx: Tx, change: { topicId: string; from: string; to: string }): Promise<void>;
}

@Injectable()
export class BoardKinds {
  private readonly behaviours = new Map<BoardKind, BoardKindBehaviour>();

  register(b: BoardKindBehaviour): void {
    this.behaviours.set(b.boardKind, b);
  }

  /** The behaviour of a board's kind; undefined for FORUM (plain topics) and for kinds nobody plugged in. */
  of(kind: BoardKind): BoardKindBehaviour | undefined {
    return this.behaviours.get(kind);
  }

  /**
   * Every kind's `suggestedSql` as one condition on a topic (alias `t`), each holding for the
   * topics of its own kind's boards: for suggestions drawn from boards of any kind (similarTopics
   * without a board). Undefined when no kind has one.
   */
  suggestedAnywhereSql(): string | undefined {
    return this.anywhereSql((b) => b.suggestedSql);
  }

  /**
   * Every kind's `listedSql` as one condition on a topic (alias `t`), each holding for the topics
   * of its own kind's boards: whether its board's lists show it (a merged idea they do not), for
   * the live gateway's arrivals of topics of any board. Undefined when no kind has one.
   */
  listedAnywhereSql(): string | undefined {
    return this.anywhereSql((b) => b.listedSql);
  }

  /** One kind's condition (`listedSql`, `suggestedSql`) for each kind that has one, holding for topics of its own kind's boards alone. */
  private anywhereSql(condition: (b: BoardKindBehaviour) => string | undefined): string | undefined {
    const own = [...this.behaviours.values()]
      .filter((b) => condition(b))
      .map((b) => `(NOT EXISTS (SELECT 1 FROM boards kb WHERE kb.id = t.board_id AND kb.kind = '${b.boardKind}') OR (${condition(b)}))`);
    return own.length ? own.join(' AND ') : undefined;
  }

  /** Tells every kind that a request dropped what it read of a topic (see `forgotten`). */
  forgotten(viewer: Viewer, topicId: string): void {
    for (const b of this.behaviours.values()) b.forgotten?.(viewer, topicId);
  }

  /** Tells every kind that a topic's first post moved (see `firstPostStateChanged`). */
  async firstPostStateChanged(tx: Tx, change: { topicId: string; from: string; to: string }): Promise<void> {
    for (const b of this.behaviours.values()) if (b.firstPostStateChanged) await b.firstPostStateChanged(tx, change);
  }

  /** The state a first post moves to once every kind had its say (see `firstPostState`). */
  async firstPostState(tx: Tx, change: { topicId: string; to: string }): Promise<string> {
    let to = change.to;
    for (const b of this.behaviours.values()) if (b.firstPostState) to = await b.firstPostState(tx, { topicId: change.topicId, to });
    return to;
  }
}
