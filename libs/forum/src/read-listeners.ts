import { Injectable } from '@nestjs/common';
import { Tx } from '../../core/src/database/unit-of-work';

/** A reader's progress in a topic moved on: posts numbered `from` + 1 to `to` are read now. */
export interface TopicRead {
  userId: string;
  topicId: string;
  from: number;
  to: number;
}

/**
 * Who wants to know when a reader's progress in a topic moves on (`markRead`), inside its
 * transaction. The forum owns the seam; notifications mark what the reader has now seen,
 * so the forum never depends on them.
 */
@Injectable()
export class TopicReadListeners {
  private readonly listeners: Array<(tx: Tx, read: TopicRead) => Promise<void>> = [];

  register(listener: (tx: Tx, read: TopicRead) => Promise<void>): void {
    this.listeners.push(listener);
  }

  async advanced(tx: Tx, read: TopicRead): Promise<void> {
    for (const listener of this.listeners) await listener(tx, read);
  }
}
