import { EventBus } from '../../libs/core/src/events';
import { LiveGateway } from '../../libs/realtime/src/live.gateway';
import { makeBoard, makeSpace, makeUser } from '../factories';
import { createTopic } from '../factories/forum';
import { logSink } from '../support/log-sink';
import { bootTestApp } from '../support/test-app';

/**
 * A node shutting down: the live gateway's fan-outs under way read their last statements
 * before the pool closes. (A suite of its own: its node is the first of the process, whose
 * logger takes every log line written outside a request.)
 */
describe('live updates as a node shuts down', () => {
  it('waits for the pushes under way: none reads after the pool is closed', async () => {
    const { lines, sink } = logSink();
    const node = await bootTestApp({ LOG_LEVEL: 'info' }, sink);
    const author = await makeUser(node);
    const topic = await createTopic(node, author.token, await makeBoard(node, (await makeSpace(node, 'PUBLIC')).id));
    const live = node.get(LiveGateway);
    await live.settled();
    // The node's push of an edit waits at a gate before it reads its post.
    const gateway = live as unknown as { pushPosts: (...args: unknown[]) => Promise<void> };
    const pushPosts = gateway.pushPosts.bind(gateway);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let read = false;
    jest.spyOn(gateway, 'pushPosts').mockImplementation(async (...args: unknown[]) => {
      await gate;
      await pushPosts(...args);
      read = true;
    });
    node.get(EventBus).publish({ type: 'post.updated', aggregateType: 'post', aggregateId: topic.firstPostId, payload: { postId: topic.firstPostId } });

    let closed = false;
    const closing = node.close().finally(() => (closed = true));
    // The gate opens once the node says it waits for the push (or once it is closed, if it never does).
    const waits = () => lines.some((l) => l.includes('waiting for the live pushes under way'));
    while (!waits() && !closed) await new Promise((r) => setTimeout(r, 20));
    const waited = waits();
    open();
    await closing;
    await live.settled();
    expect(waited).toBe(true);
    expect(read).toBe(true);
    expect(lines.filter((l) => l.includes('live fan-out failed'))).toEqual([]);
  });
});
