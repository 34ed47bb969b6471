import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../../../access/src/access.service';
import { Viewer } from '../../../core/src/graphql/viewer';
import { TAGS_DEFAULT, TagCountModel, TagsArgs } from './tag.model';

/**
 * The tags in use (Discourse's tag page and tag picker): each with how many visible topics
 * carry it in the spaces the viewer reads, most used first. The counts are the space_tags
 * rows a trigger keeps (migration space-tags), so a list costs one indexed statement however
 * many topics there are; only visible topics count, so no count tells of a topic the reader
 * may not see, and a tag used only on such topics is not listed.
 */
@Injectable()
export class TagsService {
  constructor(private readonly ds: DataSource, private readonly access: AccessService) {}

  async list(viewer: Viewer, args: TagsArgs): Promise<TagCountModel[]> {
    const readable = await this.access.readableSpaceIds(viewer);
    const spaceIds = args.spaceIds ? readable.filter((id) => args.spaceIds!.includes(id)) : readable;
    if (spaceIds.length === 0) return [];
    const rows: Array<{ tag: string; topic_count: number }> = await this.ds.query(
      `SELECT tag, sum(topic_count)::int AS topic_count FROM space_tags
        WHERE space_id = ANY($1::uuid[]) AND topic_count > 0 AND ($2::text IS NULL OR tag LIKE $2 || '%')
        GROUP BY tag ORDER BY topic_count DESC, tag LIMIT $3`,
      [spaceIds, args.prefix ?? null, args.first ?? TAGS_DEFAULT],
    );
    return rows.map((r) => Object.assign(new TagCountModel(), { name: r.tag, topicCount: r.topic_count }));
  }
}
