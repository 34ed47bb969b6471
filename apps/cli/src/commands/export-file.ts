import { constants } from 'node:fs';
import { FileHandle, open, rename, rm } from 'node:fs/promises';

/**
 * Writes `out` through `write`, beside it as `<out>.partial`, renamed onto it once complete: a
 * failed export leaves no half file. Both are 0600, whatever the umask (the moderation log names
 * members and moderators and their reasons): a new partial is made so, one left by an export of
 * this user's that died is set so before anything is written. parseOut refuses, before the
 * database opens, a partial that is a link or another user's; this holds when one was made since:
 * a link is not followed (ELOOP), and another user's is left as it was (opened, it is truncated
 * only once found this user's). A partial this could not open, or not its own, is left as it
 * was; one it opened is removed on failure, and a failure to remove it is said on stderr, never
 * in place of the export's own error.
 */
export async function writeExportFile(out: string, write: (stream: NodeJS.WritableStream) => Promise<number>): Promise<number> {
  const partial = `${out}.partial`;
  const file: FileHandle = await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const owner = (await file.stat()).uid;
    const uid = process.getuid?.();
    if (uid !== undefined && owner !== uid) throw new Error(`${partial} belongs to uid ${owner}, not this user: the export written into it would be theirs`);
  } catch (err) {
    await file.close();
    throw err;
  }
  try {
    await file.truncate(0);
    await file.chmod(0o600);
    const n = await write(file.createWriteStream());
    await rename(partial, out);
    return n;
  } catch (err) {
    await rm(partial, { force: true }).catch((rmErr: Error) => process.stderr.write(`Could not remove ${partial}: ${rmErr.message}\n`));
    throw err;
  } finally {
    await file.close();
  }
}
