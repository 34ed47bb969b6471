import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { UserRow } from './user.model';
import { prepared } from '../../../core/src/database/prepared-statements';

const COLUMNS = 'id, email, handle, display_name, role, trust_level, is_placeholder, created_at';
const USERS_BY_ID = prepared('users.by_id', `SELECT ${COLUMNS} FROM users WHERE id = ANY($1::uuid[])`);

/** Every query on users. */
@Injectable()
export class UsersRepository {
  constructor(private readonly ds: DataSource) {}

  async getByIds(ids: readonly string[]): Promise<UserRow[]> {
    if (ids.length === 0) return [];
    return this.ds.query(USERS_BY_ID, [ids]);
  }

  async findByHandle(handle: string): Promise<UserRow | undefined> {
    const rows = await this.ds.query(`SELECT ${COLUMNS} FROM users WHERE lower(handle) = lower($1)`, [handle]);
    return rows[0];
  }

  async findByHandles(handles: readonly string[], manager?: EntityManager): Promise<Array<{ id: string; handle: string }>> {
    if (handles.length === 0) return [];
    return (manager ?? this.ds.manager).query(
      `SELECT id, lower(handle) AS handle FROM users WHERE lower(handle) = ANY($1::text[])`,
      [handles.map((h) => h.toLowerCase())],
    );
  }

  /** For sign-in: by e-mail (case-insensitive) or handle. */
  async findForLogin(login: string): Promise<(UserRow & { password_hash: string | null }) | undefined> {
    const rows = await this.ds.query(
      `SELECT ${COLUMNS}, password_hash FROM users
        WHERE (lower(email) = lower($1) OR lower(handle) = lower($1)) AND NOT is_placeholder
        LIMIT 1`,
      [login],
    );
    return rows[0];
  }
}
