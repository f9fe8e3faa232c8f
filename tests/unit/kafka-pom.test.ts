import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCompleteLibs } from '../../src/kafka/local/fetch-jars.ts';
import { pomDigest, renderPom } from '../../src/kafka/local/pom.ts';

/** groupId:artifactId:version of each <dependency>, in order. */
function dependencies(pom: string): string[] {
  return [...pom.matchAll(/<dependency>(.*?)<\/dependency>/gs)].map(([, d]) => {
    const get = (tag: string): string => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(d)?.[1] ?? '?';
    return `${get('groupId')}:${get('artifactId')}:${get('version')}`;
  });
}

describe('renderPom', () => {
  it('3.9.1: slf4j-api 1.7.36 first, then the broker, then the reload4j binding', () => {
    expect(dependencies(renderPom('3.9.1'))).toEqual([
      'org.slf4j:slf4j-api:1.7.36',
      'org.apache.kafka:kafka_2.13:3.9.1',
      'org.slf4j:slf4j-reload4j:1.7.36',
      'ch.qos.reload4j:reload4j:1.2.25',
    ]);
  });

  it('4.1.1: slf4j-api 1.7.36 first, then the broker, then log4j2 2.24.3 binding, api and core', () => {
    expect(dependencies(renderPom('4.1.1'))).toEqual([
      'org.slf4j:slf4j-api:1.7.36',
      'org.apache.kafka:kafka_2.13:4.1.1',
      'org.apache.logging.log4j:log4j-slf4j-impl:2.24.3',
      'org.apache.logging.log4j:log4j-api:2.24.3',
      'org.apache.logging.log4j:log4j-core:2.24.3',
    ]);
  });

  it('renders completely (no placeholders) and differently per version', () => {
    const a = renderPom('3.9.1');
    const b = renderPom('4.1.1');
    expect(a + b).not.toMatch(/\{\{\w+\}\}/);
    expect(pomDigest(a)).not.toBe(pomDigest(b));
  });
});

describe('jar cache completeness', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function libs(marker: unknown, jars: Record<string, string>): Promise<string> {
    dir = await mkdtemp(join(tmpdir(), 'prism-libs-'));
    await mkdir(dir, { recursive: true });
    for (const [name, content] of Object.entries(jars)) await writeFile(join(dir, name), content);
    if (marker !== undefined) await writeFile(join(dir, '.complete.json'), JSON.stringify(marker));
    return dir;
  }

  it('accepts a libs dir whose marker matches the pom and lists jars of the right size', async () => {
    const d = await libs({ pomSha256: 'abc', jars: [{ name: 'a.jar', size: 3 }] }, { 'a.jar': 'xyz' });
    expect(await isCompleteLibs(d, 'abc')).toBe(true);
  });

  it('rejects a libs dir without marker (interrupted fetch)', async () => {
    expect(await isCompleteLibs(await libs(undefined, { 'a.jar': 'xyz' }), 'abc')).toBe(false);
  });

  it('rejects a cache made from another pom', async () => {
    const d = await libs({ pomSha256: 'old', jars: [{ name: 'a.jar', size: 3 }] }, { 'a.jar': 'xyz' });
    expect(await isCompleteLibs(d, 'abc')).toBe(false);
  });

  it('rejects a missing or truncated jar', async () => {
    const d = await libs(
      {
        pomSha256: 'abc',
        jars: [
          { name: 'a.jar', size: 3 },
          { name: 'b.jar', size: 3 },
        ],
      },
      { 'a.jar': 'xy' },
    );
    expect(await isCompleteLibs(d, 'abc')).toBe(false);
  });
});
