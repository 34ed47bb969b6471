import { constants } from 'node:fs';
import { FileHandle, open, rename, rm } from 'node:fs/promises';

/**
 * Writes `out` through `write`, beside it as `<out>.partial`, renamed onto it once complete: a
 * failed export leaves no half file. Both are 0600, whatever the umask (the moderation log names
 * members and moderators and their reasons): a new partial is made so, one left by an export of
 * this user's that died (parseOut refuses another user's) is set so before anything is written.
 * A partial that is a link is not followed (ELOOP; parseOut refuses one, this holds one made since).
 * A partial this could not open is left as it was; one it opened is removed on failure, and a
 * failure to remove it is said on stderr, never in place of the export's own error.
 */
export async function writeExportFile(out: string, write: (stream: NodeJS.WritableStream) => Promise<number>): Promise<number> {
  const partial = `${out}.partial`;
  const file: FileHandle = await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
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
