/**
 * Waits until `pending` is empty, or `deadline` (epoch ms) has passed, whichever comes first;
 * never rejects. `pending` may grow meanwhile: what is added before it empties is waited for too
 * (the live gateway's re-checks under way, a Redis client's commands as it closes). Its members
 * must leave it themselves once settled, as those do.
 */
export async function settleWithin(pending: { readonly size: number; keys(): Iterable<Promise<unknown>> }, deadline: number): Promise<void> {
  while (pending.size && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
    await Promise.race([Promise.allSettled([...pending.keys()]), late]);
    clearTimeout(timer);
  }
}
