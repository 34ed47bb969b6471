import { INestApplicationContext } from '@nestjs/common';

export interface DemoLogin {
  role: string;
  login: string;
  password: string;
}

export async function seedDemoCommunity(app: INestApplicationContext): Promise<DemoLogin[]> {
  void app;
  throw new Error('seed: being written (needs the forum module)');
}
