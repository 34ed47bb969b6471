export * from './identity.module';
export * from './sessions/sessions.service';
