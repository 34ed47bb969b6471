import { Tx } from '../../../core/src/database/unit-of-work';

/**
 * Takes away the e-mail and IP bans of the sanctions `ids` (lifted, their appeal granted, or run
 * out): their own rows, by `sanction_id`. Another ban of the same address keeps its own row, and
 * so the address banned (`emailBannedSql`, `ipBannedSql`).
 */
export async function dropAddressBans(tx: Tx, ids: string[]): Promise<void> {
  await tx.query(
    `WITH emails AS (DELETE FROM banned_emails WHERE sanction_id = ANY($1::uuid[]))
     DELETE FROM banned_ips WHERE sanction_id = ANY($1::uuid[])`,
    [ids],
  );
}
