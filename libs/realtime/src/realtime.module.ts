import { Module } from '@nestjs/common';
import { ForumModule } from '../../forum/src/forum.module';
import { IdentityModule } from '../../identity/src/identity.module';
import { NotificationsModule } from '../../notifications/src/notifications.module';
import { SpacesModule } from '../../spaces/src/spaces.module';
import { LiveGateway } from './live.gateway';
import { LiveRelayConsumer } from './live-relay.consumer';

/** The Socket.IO gateway: rooms, live events, presence and typing; and the relay of what other processes commit. */
@Module({
  imports: [IdentityModule, SpacesModule, ForumModule, NotificationsModule],
  providers: [LiveGateway, LiveRelayConsumer],
})
export class RealtimeModule {}
