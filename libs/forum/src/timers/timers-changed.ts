import { Tx } from '../../../core/src/database/unit-of-work';
import { DomainEvent } from '../../../core/src/events';
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
 * What a TIMERS_CHANGED event says: the topic, and the kinds of its timers that changed. Nothing else: the gateway reads the
 * topic's timers, its space included, once the change has committed (`pushTimers`). Until 2026-12-07 it carried the topic's
 * `spaceId` too, which nothing read (an older node's event that has it is read the same).
 */
type TimersChanged = {
  topicId: string;
  kinds: TopicTimerKind[];
};

/**
 * Tells the topic's live room that its timers of `kinds` changed (TIMERS_CHANGED; the gateway
 * decides who hears: `forReaders`), raising their versions first (`raiseVersion`: news when a
 * status timer changed, which every reader hears of), so the push carries one that orders it.
 * Every change of a topic's timers comes here: those TopicTimersService makes (set, removed,
 * fired, dropped, postponed) and those of their topic (`timersOfTopicChanged`). Apart from
 * TopicTimersService, which needs TopicsService and PostsService, whose writes call it too.
 *
 * Once per topic per transaction, whatever changes it makes there (a firing that moves or
 * deletes the topic, whose timers are told of, then removes the timer): the push reads the
 * timers once the transaction has committed, so one event tells all of it. A later call finds
 * the event in `tx.events` and adds the kinds it does not name yet (`Tx.amend`: its outbox row
 * and what is published), raising the news version then if they are the first news: one raise
 * of each version, and readers told of a status timer that only a later change touched. A call
 * that adds no kind writes nothing.
 */
export async function announceTimers(tx: Tx, repo: TopicTimersRepository, topicId: string, kinds: TopicTimerKind[]): Promise<void> {
  const told = tx.events.find((e) => e.type === TIMERS_CHANGED && e.aggregateId === topicId) as DomainEvent<TimersChanged> | undefined;
  if (!told) {
    await repo.raiseVersion(tx, topicId, timersNews(kinds));
    const payload: TimersChanged = { topicId, kinds: [...new Set(kinds)] };
    await tx.emit({ type: TIMERS_CHANGED, aggregateType: 'topic', aggregateId: topicId, payload });
    return;
  }
  const was = told.payload;
  const added = [...new Set(kinds)].filter((k) => !was.kinds.includes(k));
  if (added.length === 0) return;
  if (timersNews(added) && !timersNews(was.kinds)) await repo.raiseNews(tx, topicId);
  await tx.amend(told, { ...was, kinds: [...was.kinds, ...added] });
}

/**
 * A change of the topic that decides which of its timers still stand (`standingOf`), told as a
 * change of them all (`announceTimers` with every kind it holds; nothing for a topic without):
 * a move (`TopicsService.writeMove`: its setters' space, a PUBLISH_TO_BOARD timer's board), its
 * deletion or restoration (`PostsService.applyState`: none stands on a deleted topic). In `tx`,
 * which holds the topic's row.
 */
export async function timersOfTopicChanged(tx: Tx, repo: TopicTimersRepository, topicId: string): Promise<void> {
  const kinds = await repo.kindsOf(tx, topicId);
  if (kinds.length) await announceTimers(tx, repo, topicId, kinds);
}
