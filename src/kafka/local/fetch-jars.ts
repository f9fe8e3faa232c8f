import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BrokerError } from '../../errors.ts';
import { execCollect, tailLines } from './exec.ts';
import { cacheRoot, libsDir, versionCacheDir } from './paths.ts';
import { pomDigest, renderPom } from './pom.ts';
import { requireMaven } from './prerequisites.ts';
import type { KafkaVersion } from './versions.ts';

/** Pinned so a new plugin release cannot change what lands in libs/. */
export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies';

/** Written last into libs/: its presence (and matching content) means the fetch completed. */
const MARKER = '.complete.json';

interface Marker {
  pomSha256: string;
  jars: { name: string; size: number }[];
}

export interface FetchProgress {
  /** artifacts (jars and poms) downloaded so far in this fetch */
  downloaded: number;
  /** the artifact just downloaded */
  artifact: string;
}

export interface EnsureJarsOptions {
  version: KafkaVersion;
  cacheDir?: string;
  onProgress?: (p: FetchProgress) => void;
}

export interface EnsureJarsResult {
  libsDir: string;
  /** false when a complete cache was reused and mvn did not run */
  fetched: boolean;
  jarCount: number;
  /** mvn output of this fetch (kept in the version cache dir) */
  mvnLogPath: string;
}

/** True when `dir` holds every jar its marker lists, for the pom we would render now. */
export async function isCompleteLibs(dir: string, pomSha256: string): Promise<boolean> {
  let marker: Marker;
  try {
    marker = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as Marker;
  } catch {
    return false;
  }
  if (marker.pomSha256 !== pomSha256 || !Array.isArray(marker.jars) || marker.jars.length === 0) return false;
  for (const jar of marker.jars) {
    try {
      if ((await stat(join(dir, jar.name))).size !== jar.size) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function writeMarker(dir: string, pomSha256: string): Promise<number> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.jar')).sort();
  const jars = await Promise.all(
    names.map(async (name) => ({ name, size: (await stat(join(dir, name))).size })),
  );
  await writeFile(join(dir, MARKER), JSON.stringify({ pomSha256, jars } satisfies Marker, null, 2));
  return jars.length;
}

/**
 * Make sure the broker jars of `version` are in the cache: reuse a complete libs/ (no mvn),
 * otherwise resolve them with `mvn dependency:copy-dependencies` into a temp dir and rename it
 * into place, so an interrupted or concurrent fetch never leaves a half-filled libs/.
 */
export async function ensureKafkaJars(opts: EnsureJarsOptions): Promise<EnsureJarsResult> {
  const root = opts.cacheDir ?? cacheRoot();
  const dir = versionCacheDir(opts.version, root);
  const target = libsDir(opts.version, root);
  const mvnLogPath = join(dir, 'mvn.log');
  const pom = renderPom(opts.version);
  const digest = pomDigest(pom);

  if (await isCompleteLibs(target, digest)) {
    const jarCount = (await readdir(target)).filter((n) => n.endsWith('.jar')).length;
    return { libsDir: target, fetched: false, jarCount, mvnLogPath };
  }

  const mvn = await requireMaven();
  await mkdir(dir, { recursive: true });
  const pomPath = join(dir, 'pom.xml');
  await writeFile(pomPath, pom);
  const staging = join(dir, `libs.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

  let downloaded = 0;
  try {
    const res = await execCollect(
      mvn,
      ['-B', '-f', pomPath, DEPENDENCY_PLUGIN, '-DincludeScope=runtime', `-DoutputDirectory=${staging}`],
      {
        cwd: dir,
        onLine: (line) => {
          const m = /^\[INFO\] Downloaded from [^:]+: (\S+)/.exec(line);
          if (m !== null && opts.onProgress !== undefined) {
            downloaded += 1;
            opts.onProgress({ downloaded, artifact: m[1].slice(m[1].lastIndexOf('/') + 1) });
          }
        },
      },
    );
    await writeFile(mvnLogPath, res.output);
    if (res.code !== 0) {
      throw new BrokerError(
        'MAVEN_FAILED',
        `mvn could not fetch the Kafka ${opts.version} jars (exit ${res.code ?? res.signal}; full log ${mvnLogPath}):\n` +
          tailLines(res.output, 25),
      );
    }
    const jarCount = await writeMarker(staging, digest);
    if (jarCount === 0) {
      throw new BrokerError(
        'MAVEN_FAILED',
        `mvn succeeded but copied no jars into ${staging} (log ${mvnLogPath})`,
      );
    }
    // A concurrent fetch may have finished first: keep its complete copy.
    if (await isCompleteLibs(target, digest)) return { libsDir: target, fetched: true, jarCount, mvnLogPath };
    if (existsSync(target)) await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return { libsDir: target, fetched: true, jarCount, mvnLogPath };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
