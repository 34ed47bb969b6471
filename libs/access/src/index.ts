export * from './access-level';
export * from './access.service';
export * from './access.module';
