import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { AccessService } from '../../access/src/access.service';
import { Viewer } from '../../core/src/graphql/viewer';
import { BoardModel, toBoardModel } from './boards/board.model';
import { SpaceModel, toSpaceModel } from './spaces/space.model';
import { SpacesRepository } from './spaces.repository';

/**
 * Per-request loaders for spaces and boards. They return null for anything the
 * viewer may not read, so a field resolver cannot leak an internal space's name.
 */
@Injectable()
export class SpacesLoader {
  constructor(
    private readonly repo: SpacesRepository,
    private readonly access: AccessService,
  ) {}

  private spaces(viewer: Viewer): DataLoader<string, SpaceModel | null> {
    return viewer.memoize(
      'loader:spaces',
      () =>
        new DataLoader<string, SpaceModel | null>(async (ids) => {
          const ranks = await this.access.spaceRanks(viewer);
          const readable = ids.filter((id) => (ranks.get(id) ?? 0) > 0);
          const byId = new Map((await this.repo.spacesByIds(readable)).map((r) => [r.id, toSpaceModel(r)]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
    );
  }

  private boards(viewer: Viewer): DataLoader<string, BoardModel | null> {
    return viewer.memoize(
      'loader:boards',
      () =>
        new DataLoader<string, BoardModel | null>(async (ids) => {
          const ranks = await this.access.spaceRanks(viewer);
          const rows = await this.repo.boardsByIds(ids);
          const byId = new Map(rows.filter((r) => (ranks.get(r.space_id) ?? 0) > 0).map((r) => [r.id, toBoardModel(r)]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
    );
  }

  private boardsOfSpaces(viewer: Viewer): DataLoader<string, BoardModel[]> {
    return viewer.memoize(
      'loader:spaceBoards',
      () =>
        new DataLoader<string, BoardModel[]>(async (spaceIds) => {
          const ranks = await this.access.spaceRanks(viewer);
          const readable = spaceIds.filter((id) => (ranks.get(id) ?? 0) > 0);
          const bySpace = new Map<string, BoardModel[]>(spaceIds.map((id) => [id, []]));
          for (const r of await this.repo.boardsOfSpaces(readable)) bySpace.get(r.space_id)!.push(toBoardModel(r));
          return spaceIds.map((id) => bySpace.get(id)!);
        }),
    );
  }

  /** The space if the viewer may read it, else null. */
  space(viewer: Viewer, id: string): Promise<SpaceModel | null> {
    return this.spaces(viewer).load(id);
  }

  /** The board if the viewer may read its space, else null. */
  board(viewer: Viewer, id: string): Promise<BoardModel | null> {
    return this.boards(viewer).load(id);
  }

  /** The boards of a space, in order; none if the viewer may not read it. */
  boardsOf(viewer: Viewer, spaceId: string): Promise<BoardModel[]> {
    return this.boardsOfSpaces(viewer).load(spaceId);
  }
}
