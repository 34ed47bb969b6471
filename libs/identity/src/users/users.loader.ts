import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { Viewer } from '../../../core/src/graphql/viewer';
import { AuthorColumns, authorOf, LastSeenRow, ProfileRow, toUserModel, UserModel } from './user.model';
import { UsersRepository } from './users.repository';

/**
 * Per-request batching of user look-ups (authors, mentions...). Users are public
 * profiles: any viewer may resolve any user by id.
 */
@Injectable()
export class UsersLoader {
  constructor(private readonly repo: UsersRepository) {}

  for(viewer: Viewer): DataLoader<string, UserModel | null> {
    return viewer.memoize(
      'loader:users',
      () =>
        new DataLoader<string, UserModel | null>(async (ids) => {
          const rows = await this.repo.getByIds(ids);
          const byId = new Map(rows.map((r) => [r.id, toUserModel(r)]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
    );
  }

  /**
   * The author a list's statement joined in (`AUTHOR_COLUMNS`), as a model, remembered for the
   * rest of the request so no field loads it again.
   */
  authorOf(viewer: Viewer, row: AuthorColumns): UserModel {
    const author = toUserModel(authorOf(row));
    this.for(viewer).prime(author.id, author);
    return author;
  }

  load(viewer: Viewer, id: string): Promise<UserModel | null> {
    return this.for(viewer).load(id);
  }

  /**
   * Whether the viewer sees the user's profile (bio, location, website, last seen, activity
   * counts): always, unless the user hid it (`hideProfile`), and then only they, moderators and
   * admins do (`seesHiddenProfile`, which costs no statement; anyone else reads the profile).
   */
  async profileShown(viewer: Viewer, user: UserModel): Promise<boolean> {
    return seesHiddenProfile(viewer, user) || !(await this.profile(viewer, user.id))?.hide_profile;
  }

  /** A user's profile (bio, location, website), batched for every user of a list. */
  profile(viewer: Viewer, id: string): Promise<ProfileRow | null> {
    return rowsById(viewer, 'loader:profiles', (ids) => this.repo.profiles(ids)).load(id);
  }

  /** When a user was last seen, batched for every user of a list; read only by the requests that ask for it. */
  lastSeen(viewer: Viewer, id: string): Promise<LastSeenRow | null> {
    return rowsById(viewer, 'loader:last-seen', (ids) => this.repo.lastSeen(ids)).load(id);
  }

  /** Forgets a profile read earlier in the request (it just changed). */
  forgetProfile(viewer: Viewer, id: string): void {
    viewer.peek<DataLoader<string, ProfileRow | null>>('loader:profiles')?.clear(id);
  }
}

/** Whether the viewer is the user: the only one their address and its state are shown to. */
export function isSelf(viewer: Viewer, user: UserModel): boolean {
  return user.isAuthenticatedSelf === true || viewer.id === user.id;
}

/** Whether the viewer sees the user's profile even hidden (`hideProfile`): the user themself, moderators and admins. */
export function seesHiddenProfile(viewer: Viewer, user: UserModel): boolean {
  return isSelf(viewer, user) || viewer.isGlobalModerator;
}

/** The request's loader (under `key`) of rows by user id, one statement per batch; null for an unknown id. */
function rowsById<T extends { id: string }>(viewer: Viewer, key: string, fetch: (ids: readonly string[]) => Promise<T[]>): DataLoader<string, T | null> {
  return viewer.memoize(
    key,
    () =>
      new DataLoader<string, T | null>(async (ids) => {
        const byId = new Map((await fetch(ids)).map((r) => [r.id, r]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
  );
}
