import { randomBytes } from 'node:crypto';
import { constants, rmSync, WriteStream } from 'node:fs';
import { FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { finished } from 'node:stream/promises';
import { sayError } from '../error-text';

/** How many names an export tries for its partial, each found taken, before it gives up (EEXIST). */
const PARTIAL_NAMES = 8;

/** Random bytes in a partial's name, written in hex (twice as many digits). */
const PARTIAL_RANDOM_BYTES = 6;

/** The partial beside `out` of the given hex digits: `<out>.<hex>.partial`. */
const partialName = (out: string, hex: string) => `${out}.${hex}.partial`;

/** How many bytes longer than the export's name its partial's is (21): parseOut refuses a name too long for it. */
export const PARTIAL_NAME_EXTRA_BYTES = Buffer.byteLength(partialName('', '0'.repeat(PARTIAL_RANDOM_BYTES * 2)));

/**
 * A new file beside `out` for this export alone, `<out>.<12 hex>.partial`: created exclusively
 * (O_EXCL), so whatever is there already under that name (another export's partial, a link, a
 * file of another user's) is never opened, written or removed, and the next name is tried; with
 * O_NOFOLLOW besides, a link at the name is never followed. 0600, so the umask can only have taken
 * from it (it is chmod'ed so after).
 */
async function openPartial(out: string): Promise<{ partial: string; file: FileHandle }> {
  for (let tries = 1; ; tries++) {
    const partial = partialName(out, randomBytes(PARTIAL_RANDOM_BYTES).toString('hex'));
    try {
      return { partial, file: await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries === PARTIAL_NAMES) throw err;
    }
  }
}

/** The stream's file closed (by the stream, which owns it): at once, if it has not ended. */
async function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  const closing = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  stream.destroy();
  await closing;
}

/**
 * Errors of a folder's fsync that say the file system does not do it (Linux's EINVAL on some, a
 * folder that cannot be opened to sync, ENOTSUP), or of its open that say this user may not read
 * it (EACCES: a folder of mode 0300, which it may write in, as parseOut asks, but not open): the
 * rename stands as written, as robust tools (git, SQLite) take it. Any other (EIO) fails the export.
 */
const FOLDER_SYNC_REFUSED = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EACCES']);

/**
 * The folder `dir` synced (fsync), so that a rename into it survives a crash: without it the
 * export's name may be lost, or name the partial's old entry, once the machine goes down.
 */
async function syncFolder(dir: string): Promise<void> {
  let folder: FileHandle | undefined;
  try {
    folder = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await folder.sync();
  } catch (err) {
    if (!FOLDER_SYNC_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await folder?.close();
  }
}

/** Said on stderr (the CLI's writer: a path's or an error's password never shown), never in place of the export's own error (or exit). */
const couldNotRemove = (partial: string, err: unknown) => sayError(err, `Could not remove ${partial}: `);

/**
 * Writes `out` through `write`, beside it as a partial of its own (`openPartial`), renamed onto
 * it once complete, synced to disk (fsync) and closed, its folder synced after the rename: a crash
 * leaves the file before or after, never a renamed file short or empty; a failed export leaves no half file, and two exports to the same
 * `out` at once each write their own, the last renamed the one left (neither writes into the
 * other's, nor renames it half written). The export is 0600, whatever the umask (the moderation
 * log names members and moderators and their reasons). The file is closed once: by its stream,
 * which owns it once made (when it ends, or is destroyed on a failure), or here when none was
 * made; a failure to close it fails the export before the rename. A partial made here is removed
 * on failure, and a failure to remove it is said on stderr, never in place of the export's own
 * error; so it is when the process exits before the export is done (only SIGKILL, or a crash,
 * leaves it). parseOut refuses, before the database opens, what would fail only at the end (a folder
 * named, another user's file to replace in a sticky folder) or at the start only once it has opened
 * (a name too long for its partial's).
 */
export async function writeExportFile(out: string, write: (stream: NodeJS.WritableStream) => Promise<number>): Promise<number> {
  const { partial, file } = await openPartial(out);
  // Ended meanwhile by process.exit (an interrupted command: interrupt.ts), which runs nothing
  // pending here, the export removes its partial as the process exits: at once, while it can.
  const removeOnExit = () => {
    try {
      rmSync(partial, { force: true });
    } catch (err) {
      couldNotRemove(partial, err);
    }
  };
  process.once('exit', removeOnExit);
  let stream: WriteStream | undefined;
  try {
    await file.chmod(0o600);
    // flush: synced (fsync) before it is closed, so the rename never names a file a crash leaves short or empty.
    stream = file.createWriteStream({ flush: true });
    const n = await write(stream);
    // Ended here if `write` left it open; its sync and close (an error there too, say a write-back's) waited for.
    if (!stream.writableEnded) stream.end();
    await finished(stream);
    await rename(partial, out);
    await syncFolder(dirname(out));
    return n;
  } catch (err) {
    await (stream ? closed(stream) : file.close()).catch(() => undefined);
    await rm(partial, { force: true }).catch((rmErr: unknown) => couldNotRemove(partial, rmErr));
    throw err;
  } finally {
    process.off('exit', removeOnExit);
  }
}
