import { CLAIM_HOLDS_SQL, REVIEW_ITEM_COLUMNS } from './review-items';

describe('REVIEW_ITEM_COLUMNS', () => {
  // Every queue row, every locked item and every RETURNING reads these columns: the claim rule is
  // a handful of subqueries (grants, groups, sanctions), run once per row, not once per column.
  it('judges whether an item’s claim holds once per row', () => {
    expect(REVIEW_ITEM_COLUMNS.split(CLAIM_HOLDS_SQL).length - 1).toBe(1);
  });
});
