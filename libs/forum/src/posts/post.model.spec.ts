import { ContentState } from '../forum.enums';
import { PostRow, postPlaceholder, toPostModel } from './post.model';

const row = (state: ContentState): PostRow => ({
  id: '00000000-0000-4000-8000-000000000001',
  topic_id: '00000000-0000-4000-8000-000000000002',
  space_id: '00000000-0000-4000-8000-000000000003',
  number: 4,
  author_id: '00000000-0000-4000-8000-000000000004',
  reply_to_post_id: '00000000-0000-4000-8000-000000000005',
  body_source: 'the removed secretsource',
  body_html: '<p>the removed secrethtml</p>',
  state,
  reaction_counts: { THANKS: 2 },
  reaction_total: 2,
  edited_at: new Date('2026-12-01T10:00:00Z'),
  version: 41,
  removed_version: 37,
  created_at: new Date('2026-11-30T10:00:00Z'),
  wiki: true,
  has_poll: false,
});

describe('postPlaceholder', () => {
  it('gives a hidden or deleted post’s id, number, state, date and placeholder text, and blanks its body, edit date, the post it answers and wiki', () => {
    expect(postPlaceholder(row(ContentState.HIDDEN))).toEqual({
      id: row(ContentState.HIDDEN).id, number: 4, state: 'HIDDEN', createdAt: new Date('2026-11-30T10:00:00Z'),
      placeholder: 'This post was hidden by a moderator.', bodyHtml: null, editedAt: null, replyToPostId: null, wiki: false, version: 37,
    });
    expect(postPlaceholder(row(ContentState.DELETED)).placeholder).toBe('This post was deleted.');
    expect(JSON.stringify(postPlaceholder(row(ContentState.DELETED)))).not.toMatch(/secret|THANKS|41/);
  });

  it('answers the removal’s version (removed_version), not the post’s, which its edits since raised', () => {
    expect(postPlaceholder(row(ContentState.HIDDEN)).version).toBe(37);
    // Removed by a node of a release before removed_version: no version, as before it.
    expect(postPlaceholder({ ...row(ContentState.HIDDEN), removed_version: null }).version).toBeNull();
  });

  it('is all a page shows of a placeholder (toPostModel), written out rather than read from postPlaceholder: nothing of the removed post is on its model, no reactions, the removal’s version', () => {
    const placeholders = { [ContentState.HIDDEN]: 'This post was hidden by a moderator.', [ContentState.DELETED]: 'This post was deleted.' };
    for (const state of [ContentState.HIDDEN, ContentState.DELETED] as const) {
      const r = row(state);
      const shown = toPostModel(r, 'placeholder', 0);
      // The whole model, toEqual (no field more): what the schema's Post reads off it and what its resolvers and services read.
      expect({ ...shown }).toEqual({
        id: r.id, number: 4, state, createdAt: new Date('2026-11-30T10:00:00Z'), placeholder: placeholders[state],
        bodyHtml: null, editedAt: null, replyToPostId: null, wiki: false, reactions: [], version: 37,
        topicId: r.topic_id, spaceId: r.space_id, authorId: r.author_id, hasPoll: false, view: 'placeholder', viewerRank: 0,
      });
      expect(JSON.stringify(shown)).not.toMatch(/secret|THANKS|41/);
    }
    // Read in full, the same row shows all of it.
    expect(toPostModel(row(ContentState.HIDDEN), 'full', 0)).toMatchObject({
      bodyHtml: '<p>the removed secrethtml</p>', placeholder: null, editedAt: new Date('2026-12-01T10:00:00Z'),
      replyToPostId: row(ContentState.HIDDEN).reply_to_post_id, wiki: true, version: 41, reactions: [{ kind: 'THANKS', count: 2 }],
    });
  });
});
