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

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  publish(event: DomainEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: DomainEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
