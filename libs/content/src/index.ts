export * from './renderer';
export * from './content.module';
