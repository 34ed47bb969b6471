import { registerEnumType } from '@nestjs/graphql';

export enum TopicKind {
  DISCUSSION = 'DISCUSSION',
  QUESTION = 'QUESTION',
  IDEA = 'IDEA',
  ARTICLE = 'ARTICLE',
}
registerEnumType(TopicKind, { name: 'TopicKind', description: 'A forum topic is a DISCUSSION or a QUESTION (which can accept an answer).' });

export enum TopicSort {
  LATEST_ACTIVITY = 'LATEST_ACTIVITY',
  NEWEST = 'NEWEST',
  TOP = 'TOP',
  TRENDING = 'TRENDING',
}
registerEnumType(TopicSort, {
  name: 'TopicSort',
  description:
    'Pinned topics always come first. TRENDING: recent replies and reactions, fading within days, weighed against the topic’s age (idea boards: their own trending, as Board.ideas(sort: TRENDING)); its cursors are positions, at most 10,000 deep.',
});

/** How long a topic stays in a member's NEW feed if they do not open it. */
export const NEW_TOPIC_DAYS = 14;

export enum TopicFeedView {
  LATEST = 'LATEST',
  UNREAD = 'UNREAD',
  NEW = 'NEW',
}
registerEnumType(TopicFeedView, {
  name: 'TopicFeedView',
  description:
    `The site-wide feeds of forum topics (Query.topics), newest first, pinned topics in their place. LATEST: every topic, by last activity. UNREAD (signed in): topics you opened that have visible posts of others past what you read (Topic.unreadCount), by last activity. NEW (signed in): topics of others created in the last ${NEW_TOPIC_DAYS} days that you have not opened, by creation.`,
});

export enum ContentState {
  VISIBLE = 'VISIBLE',
  PENDING = 'PENDING',
  HIDDEN = 'HIDDEN',
  DELETED = 'DELETED',
}
registerEnumType(ContentState, {
  name: 'ContentState',
  description: 'PENDING: awaiting approval (author and moderators only). HIDDEN: by moderation. DELETED: soft-deleted.',
});

export enum ReactionKind {
  LIKE = 'LIKE',
  THANKS = 'THANKS',
  INSIGHTFUL = 'INSIGHTFUL',
  LAUGH = 'LAUGH',
  CONFUSED = 'CONFUSED',
}
registerEnumType(ReactionKind, { name: 'ReactionKind' });
export const REACTION_KINDS = Object.values(ReactionKind);
