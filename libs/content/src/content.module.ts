import { Module } from '@nestjs/common';
import { ContentRenderer } from './renderer';

@Module({ providers: [ContentRenderer], exports: [ContentRenderer] })
export class ContentModule {}
