import { Global, Module } from '@nestjs/common';
import { ContentRenderer } from './renderer';

@Global()
@Module({ providers: [ContentRenderer], exports: [ContentRenderer] })
export class ContentModule {}
