import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';

/** A fact about a change, written to the outbox and published in-process after commit. */
export interface DomainEvent<P extends object = Record<string, unknown>> {
  type: string;
  aggregateType: string;
  aggregateId: string;
  version?: number;
  payload: P;
}

/**
 * In-process publication of committed domain events (realtime pushes subscribe here).
 * Durable consumers (search, notifications) read the outbox instead.
 */
@Injectable()
export class EventBus {
  private readonly emitter = new EventEmitter();
  /** What the listeners of the events `publishAll` is publishing asked it to wait for. */
  private holds?: Array<Promise<unknown>>;

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  publish(event: DomainEvent): void {
    this.emitter.emit('event', event);
  }

  /**
   * Publishes `events` in order, then waits for what their listeners asked the publisher to
   * wait for (`holdPublisher`): a change's request is answered once that is settled.
   */
  async publishAll(events: readonly DomainEvent[]): Promise<void> {
    const outer = this.holds;
    const holds: Array<Promise<unknown>> = (this.holds = []);
    try {
      for (const event of events) this.publish(event);
    } finally {
      this.holds = outer;
    }
    if (holds.length) await Promise.allSettled(holds);
  }

  /**
   * For a listener, as an event reaches it through `publishAll`: the publisher goes on once
   * `work` is settled (which must come soon, by itself). Elsewhere, nothing waits for it.
   */
  holdPublisher(work: Promise<unknown>): void {
    this.holds?.push(work);
  }

  subscribe(listener: (event: DomainEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
