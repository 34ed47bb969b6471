import { Tx } from '../../../core/src/database/unit-of-work';
import { PUBLIC_TIMER_KINDS, TopicTimerKind } from './topic-timer.model';
import { TopicTimersRepository } from './topic-timers.repository';

/**
 * The event a change of a topic's timers writes (the live gateway tells the topic's room). Not a
 * `topic.` event: those re-index the topic's posts for search, which timers do not change.
 */
export const TIMERS_CHANGED = 'topic_timers.updated';

/**
 * Whether a change of timers of `kinds` is news, which every reader hears of (a status timer's,
 * PUBLIC_TIMER_KINDS): the one rule that both raises the timers' news (`announceTimers`,
 * `raiseVersion`) and lets readers who are not moderators hear the change
 * (`TopicTimersService.forReaders`), so no push to them carries a news version an earlier push to
 * them carried with another list.
 */
export function timersNews(kinds: readonly TopicTimerKind[]): boolean {
  return kinds.some((k) => PUBLIC_TIMER_KINDS.includes(k));
}

/**
 * Tells the topic's live room that its timers of `kinds` changed (TIMERS_CHANGED; the gateway
 * decides who hears: `forReaders`), raising their versions first (`raiseVersion`: news when a
 * status timer changed, which every reader hears of), so the push carries one that orders it.
 * Every change of a topic's timers comes here: those TopicTimersService makes (set, removed,
 * fired, dropped, postponed) and those of their topic (`timersOfTopicChanged`). Apart from
 * TopicTimersService, which needs TopicsService and PostsService, whose writes call it too.
 */
export async function announceTimers(tx: Tx, repo: TopicTimersRepository, topic: { id: string; spaceId: string | null }, kinds: TopicTimerKind[]): Promise<void> {
  await repo.raiseVersion(tx, topic.id, timersNews(kinds));
  await tx.emit({ type: TIMERS_CHANGED, aggregateType: 'topic', aggregateId: topic.id, payload: { topicId: topic.id, spaceId: topic.spaceId, kinds } });
}

/**
 * A change of the topic that decides which of its timers still stand (`standingOf`), told as a
 * change of them all (`announceTimers` with every kind it holds; nothing for a topic without):
 * a move (`TopicsService.writeMove`: its setters' space, a PUBLISH_TO_BOARD timer's board), its
 * deletion or restoration (`PostsService.applyState`: none stands on a deleted topic). In `tx`,
 * which holds the topic's row.
 */
export async function timersOfTopicChanged(tx: Tx, repo: TopicTimersRepository, topic: { id: string; spaceId: string | null }): Promise<void> {
  const kinds = await repo.kindsOf(tx, topic.id);
  if (kinds.length) await announceTimers(tx, repo, topic, kinds);
}
