import { ReviewItems } from './review-items';

describe('ReviewItems.columns', () => {
  // Every queue row, every locked item and every RETURNING reads these columns: the claim rule is
  // a handful of subqueries (grants, groups, sanctions, a module's deciders), run once per row, not once per column.
  it('judges whether an item’s claim holds once per row', () => {
    const items = new ReviewItems();
    items.allowDeciders('ARTICLE_FEEDBACK', async () => false, (claimant) => `${claimant} IS NOT NULL`);
    expect(items.columns().split(items.claimHoldsSql()).length - 1).toBe(1);
  });
});
