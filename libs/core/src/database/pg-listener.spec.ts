import { Logger } from '@nestjs/common';
import { PgListener } from './pg-listener';

describe('PgListener.listen', () => {
  // A LISTEN that could not even be tried (pg refusing the connection string as it made its client) rejected, and each
  // caller had to swallow it (JobScheduler did, with nothing logged); until 2026-12-07.
  it('resolves false and logs a LISTEN it cannot start, with the channel, rather than rejecting', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    // A port out of range: pg's client throws as it is made, before any connection.
    const listener = new PgListener('postgres://app:listen-pw@db.example:99999999/parvis');
    try {
      await expect(listener.listen('test_refused', { message: () => undefined })).resolves.toBe(false);
      expect(errors).toHaveBeenCalledTimes(1);
      // pg's error is of Node's realm, not the test's: told by its message.
      expect(errors.mock.calls[0]).toEqual([{ channel: 'test_refused', err: expect.objectContaining({ message: 'Invalid URL' }) }, 'cannot LISTEN on test_refused']);
    } finally {
      errors.mockRestore();
      await listener.stop();
    }
  });
});
