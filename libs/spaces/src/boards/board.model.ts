import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum BoardKind {
  FORUM = 'FORUM',
  IDEAS = 'IDEAS',
  KNOWLEDGE = 'KNOWLEDGE',
}
registerEnumType(BoardKind, { name: 'BoardKind', description: 'What a board holds: discussions, ideas or knowledge articles.' });

/** A board inside a space. */
@ObjectType('Board')
export class BoardModel {
  @Field(() => ID) id!: string;
  @Field() slug!: string;
  @Field() name!: string;
  @Field() description!: string;
  @Field(() => BoardKind) kind!: BoardKind;
  @Field(() => Int) position!: number;
  @Field() createdAt!: Date;
  spaceId!: string;
  /** Kind-specific settings (idea boards: vote budget, status labels), read by the kind's module. */
  settings!: Record<string, unknown>;
}

export interface BoardRow {
  id: string;
  space_id: string;
  kind: BoardKind;
  slug: string;
  name: string;
  description: string;
  position: number;
  created_at: Date;
  settings: Record<string, unknown>;
}

export function toBoardModel(r: BoardRow): BoardModel {
  const m = new BoardModel();
  m.id = r.id;
  m.spaceId = r.space_id;
  m.kind = r.kind;
  m.slug = r.slug;
  m.name = r.name;
  m.description = r.description;
  m.position = r.position;
  m.createdAt = r.created_at;
  m.settings = r.settings ?? {};
  return m;
}
