import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { Viewer } from '../../../core/src/graphql/viewer';
import { AuthorColumns, authorOf, ProfileRow, toUserModel, UserModel } from './user.model';
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

  /** A user's profile (bio, location, website, last seen), batched for every user of a list. */
  profile(viewer: Viewer, id: string): Promise<ProfileRow | null> {
    const loader = viewer.memoize(
      'loader:profiles',
      () =>
        new DataLoader<string, ProfileRow | null>(async (ids) => {
          const byId = new Map((await this.repo.profiles(ids)).map((r) => [r.id, r]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
    );
    return loader.load(id);
  }

  /** Forgets a profile read earlier in the request (it just changed). */
  forgetProfile(viewer: Viewer, id: string): void {
    viewer.peek<DataLoader<string, ProfileRow | null>>('loader:profiles')?.clear(id);
  }
}
