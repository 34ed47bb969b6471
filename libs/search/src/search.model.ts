import { ArgsType, Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsBoolean, IsEnum, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min, ValidateNested } from 'class-validator';
import { Type } from 'class-transformer';
import { trim } from '../../core/src/graphql/transforms';
import { HandleText, MaxCharacters } from '../../core/src/graphql/validators';
import { PageArgs, PageInfo } from '../../core/src/graphql/pagination';
import { TopicKind } from '../../forum/src/forum.enums';
import { PostModel } from '../../forum/src/posts/post.model';
import { TopicModel } from '../../forum/src/topics/topic.model';
import { TAG_RE } from '../../forum/src/topics/dto/topic.inputs';
import { ID_VERSION } from '../../core/src/ids';

export const QUERY_MAX = 300;
/** Deep pages cost the most and serve nobody: relevance past this is noise. */
export const SEARCH_OFFSET_MAX = 1000;

export enum SearchSort {
  RELEVANCE = 'RELEVANCE',
  NEWEST = 'NEWEST',
}
registerEnumType(SearchSort, { name: 'SearchSort', description: 'RELEVANCE blends text match with accepted answers, reactions and recency.' });

const lowerTags = ({ value }: { value: unknown }) =>
  Array.isArray(value) ? [...new Set(value.map((t) => (typeof t === 'string' ? t.trim().toLowerCase() : t)))] : value;

@InputType()
export class SearchFilter {
  @Field(() => [ID], { nullable: true, description: 'Only these spaces (among those the viewer may read).' })
  @IsOptional() @ArrayMaxSize(100) @IsUUID(ID_VERSION, { each: true, message: 'each must be a space id' })
  spaceIds?: string[];

  @Field(() => [ID], { nullable: true, description: 'Only contributions in these boards (up to 100; of the spaces searched).' })
  @IsOptional() @ArrayMaxSize(100) @IsUUID(ID_VERSION, { each: true, message: 'each must be a board id' })
  boardIds?: string[];

  @Field(() => [TopicKind], { nullable: true, description: 'Only contributions in topics of these kinds (a reply counts as its topic’s kind).' })
  @IsOptional() @ArrayMaxSize(10) @IsEnum(TopicKind, { each: true })
  kinds?: TopicKind[];

  @Field(() => [String], { nullable: true, description: 'Contributions carrying every one of these tags.' })
  @IsOptional() @Transform(lowerTags) @ArrayMaxSize(10) @Matches(TAG_RE, { each: true, message: 'each tag must be 1–30 characters of a-z, 0-9 and -' })
  tags?: string[];

  @Field({
    nullable: true,
    description: 'Only contributions written by the member with this handle, in any case (a handle no member has matches nothing). Refused (BAD_USER_INPUT) unless it is a handle by the handle rule.',
  })
  @HandleText({ optional: true })
  authorHandle?: string;

  @Field({ nullable: true, description: 'Moderators only: include pending, hidden and deleted contributions of the spaces they moderate.' })
  @IsOptional() @IsBoolean()
  includeModerated?: boolean;
}

/** Leading whitespace goes, trailing whitespace stays: it says that the last word is typed in full, not a prefix (see parseQuery). */
const trimStart = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trimStart() : value);

@ArgsType()
export class SearchArgs extends PageArgs {
  @Field({ description: `Words, "quoted phrases" and -exclusions; the last word matches as a prefix while typing (a space after it says it is complete). 1–${QUERY_MAX} characters.` })
  @Transform(trimStart) @IsString() @MaxCharacters(QUERY_MAX)
  query!: string;

  @Field(() => SearchFilter, { nullable: true, description: 'What to search among: every field given but includeModerated must hold (none given: every contribution the viewer may read); includeModerated adds results instead: the pending, hidden and deleted contributions of the spaces searched that the viewer moderates (FORBIDDEN when they moderate none of them).' })
  @IsOptional() @ValidateNested() @Type(() => SearchFilter)
  filter?: SearchFilter;

  @Field(() => SearchSort, { nullable: true, defaultValue: SearchSort.RELEVANCE, description: 'The order of the hits: RELEVANCE (the default) or NEWEST first.' })
  @IsOptional() @IsEnum(SearchSort)
  sort?: SearchSort;

}

@ArgsType()
export class SimilarTopicsArgs {
  @Field({ description: `The title being typed, 1–${QUERY_MAX} characters.` })
  @Transform(trim) @IsString() @MaxCharacters(QUERY_MAX)
  title!: string;

  // Ids checked by withIdArguments (every bare `ID` argument, before the pipe); @IsOptional or @Allow keeps each past the pipe's whitelist.
  @Field(() => ID, { nullable: true, description: 'Only topics of this space.' })
  @IsOptional()
  spaceId?: string;

  @Field(() => ID, {
    nullable: true,
    description: 'Only topics of this board (one the viewer may read), as its lists show them: on an idea board, merged ideas are left out.',
  })
  @IsOptional()
  boardId?: string;

  @Field(() => Int, { nullable: true, description: 'At most this many (default 5, at most 10).' })
  @IsOptional() @IsInt() @Min(1) @Max(10)
  first?: number;
}

@ObjectType('SearchHit')
export class SearchHitModel {
  @Field(() => TopicKind) kind!: TopicKind;
  @Field(() => TopicModel) topic!: TopicModel;
  @Field(() => PostModel, { description: 'The matching contribution (the first post when the topic itself matched).' }) post!: PostModel;
  @Field() title!: string;
  @Field({ description: 'An excerpt with matches in <mark>; everything else is escaped, so it is safe to render as HTML.' }) snippetHtml!: string;
  @Field(() => Float) score!: number;
}

@ObjectType('SearchEdge')
export class SearchEdge {
  @Field() cursor!: string;
  @Field(() => SearchHitModel) node!: SearchHitModel;
}

@ObjectType('FacetCount')
export class FacetCountModel {
  @Field({ description: 'A kind, a space id or a tag.' }) value!: string;
  @Field(() => Int) count!: number;
}

@ObjectType('SearchFacets')
export class SearchFacetsModel {
  // Computed with the page, in the same statement: each list costs one item to the complexity
  // limit (which would otherwise count it as a list of 10, once per hit asked for). Lists held
  // by their parent, bounded and read with it, declare their cost this way (Post.reactions too).
  @Field(() => [FacetCountModel], { complexity: 1 }) kinds!: FacetCountModel[];
  @Field(() => [FacetCountModel], { description: 'Space ids.', complexity: 1 }) spaces!: FacetCountModel[];
  @Field(() => [FacetCountModel], { description: 'The 20 most frequent tags.', complexity: 1 }) tags!: FacetCountModel[];
}

@ObjectType('SearchConnection')
export class SearchConnectionModel {
  @Field(() => [SearchEdge]) edges!: SearchEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'Every match the viewer may see (an estimate past 1,000: see totalCountIsEstimate).' }) totalCount!: number;
  @Field({
    description:
      'Whether totalCount is an estimate, as it is past 1,000 matches: with PostgreSQL it then counts the spaces searched but not the boards, kinds, tags or author asked for, so a filtered search may count more than it matches.',
  })
  totalCountIsEstimate!: boolean;
  @Field(() => SearchFacetsModel, { description: 'Counts over every match the viewer may see, never beyond.' }) facets!: SearchFacetsModel;
  @Field({ description: '`postgres` or `meilisearch`: which engine answered.' }) engine!: string;
}
