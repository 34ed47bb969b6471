import { Extensions } from '@nestjs/graphql';

/** The extension `@SideEffects()` sets on a field (see speculation.ts). */
export const SIDE_EFFECTS = 'sideEffects';

/** Marks a query field whose resolver writes: operations selecting it run on graphql-js alone (speculation.ts). */
export const SideEffects = (): MethodDecorator & ClassDecorator & PropertyDecorator => Extensions({ [SIDE_EFFECTS]: true });
