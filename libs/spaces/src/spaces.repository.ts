import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BoardRow } from './boards/board.model';
import { SpaceRow } from './spaces/space.model';
import { prepared } from '../../core/src/database/prepared-statements';

export const SPACE_COLUMNS = 'id, slug, name, description, visibility, language, created_at';
export const BOARD_COLUMNS = 'id, space_id, kind, slug, name, description, position, created_at, settings';
const BOARDS_BY_ID = prepared('boards.by_id', `SELECT ${BOARD_COLUMNS} FROM boards WHERE id = ANY($1::uuid[])`);

/** Every read query on spaces and boards. */
@Injectable()
export class SpacesRepository {
  constructor(private readonly ds: DataSource) {}

  spacesByIds(ids: readonly string[]): Promise<SpaceRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(`SELECT ${SPACE_COLUMNS} FROM spaces WHERE id = ANY($1::uuid[]) ORDER BY name, id`, [ids]);
  }

  async spaceBySlug(slug: string): Promise<SpaceRow | undefined> {
    const rows = await this.ds.query(`SELECT ${SPACE_COLUMNS} FROM spaces WHERE slug = $1`, [slug]);
    return rows[0];
  }

  boardsByIds(ids: readonly string[]): Promise<BoardRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.ds.query(BOARDS_BY_ID, [ids]);
  }

  boardsOfSpaces(spaceIds: readonly string[]): Promise<BoardRow[]> {
    if (spaceIds.length === 0) return Promise.resolve([]);
    return this.ds.query(`SELECT ${BOARD_COLUMNS} FROM boards WHERE space_id = ANY($1::uuid[]) ORDER BY position, name, id`, [
      spaceIds,
    ]);
  }
}
