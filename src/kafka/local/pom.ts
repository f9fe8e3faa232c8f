import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployLocalDir } from './paths.ts';
import { renderTemplate } from './template.ts';
import { versionLayout, type KafkaVersion } from './versions.ts';

/** The pom whose runtime dependencies are exactly the broker classpath of `version`. */
export function renderPom(version: KafkaVersion, templateDir = deployLocalDir()): string {
  const template = readFileSync(join(templateDir, versionLayout(version).pomTemplate), 'utf8');
  return renderTemplate(template, { kafkaVersion: version });
}

/** Identifies a pom's content, so a cache filled from an older template is refetched. */
export function pomDigest(pom: string): string {
  return createHash('sha256').update(pom).digest('hex');
}
