/**
 * Records the process's unhandled rejections (any of them would end a Node process run as a
 * server) until `stop`. A rejection counts once the tasks under way when it was made are done.
 */
export function recordUnhandledRejections(): { reasons: unknown[]; stop: () => Promise<void> } {
  const reasons: unknown[] = [];
  const record = (reason: unknown) => void reasons.push(reason);
  process.on('unhandledRejection', record);
  return {
    reasons,
    stop: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', record);
    },
  };
}
