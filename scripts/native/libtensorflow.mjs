// Assemble a libtensorflow tree (lib/ + include/) in the cache from the pinned wheel/jar.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fetchArtifact } from './fetch.mjs';
import { capture, log, NativeSetupSkip, run, which } from './util.mjs';

// Extract selected members of a zip (wheels and jars are zips) into destDir.
export async function unzipMembers(zipFile, destDir, patterns, logFile) {
  mkdirSync(destDir, { recursive: true });
  if (which('unzip')) {
    const code = await run('unzip', ['-q', '-o', zipFile, ...patterns, '-d', destDir], { logFile });
    if (code !== 0)
      throw new NativeSetupSkip('EXTRACT_FAILED', `unzip exited ${code} on ${zipFile} (see ${logFile})`);
    return;
  }
  if (which('python3')) {
    const py = [
      'import fnmatch, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'pats = sys.argv[3:]',
      'names = [n for n in z.namelist() if any(fnmatch.fnmatch(n, p) for p in pats)]',
      'z.extractall(sys.argv[2], names)',
    ].join('\n');
    const code = await run('python3', ['-c', py, zipFile, destDir, ...patterns], { logFile });
    if (code !== 0)
      throw new NativeSetupSkip('EXTRACT_FAILED', `python3 zipfile exited ${code} on ${zipFile}`);
    return;
  }
  throw new NativeSetupSkip('NO_UNZIP', 'neither `unzip` nor `python3` is available to unpack the wheel/jar');
}

/**
 * Return a directory with lib/libtensorflow_cc.so.2, lib/libtensorflow_framework.so.2 and include/tensorflow/c/...
 * for the variant, building it in the cache on first use. The .complete.json marker makes this idempotent.
 */
export async function ensureLibtensorflow(variant, artifacts, cache, opts) {
  const dir = join(cache, 'libtensorflow', `${artifacts.tensorflow}-${variant}`);
  const marker = join(dir, '.complete.json');
  if (existsSync(marker)) return { dir, fresh: false };

  const logFile = join(cache, 'logs', `assemble-${variant}.log`);
  mkdirSync(join(cache, 'logs'), { recursive: true });
  mkdirSync(join(cache, 'downloads'), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });

  const libArt = artifacts.variants[variant];
  const hdrArt = artifacts.variants[artifacts.headers.source];
  const downloads = join(cache, 'downloads');
  const libZip = join(downloads, libArt.file);
  const hdrZip = join(downloads, hdrArt.file);
  const fetchOpts = { cache, logFile, offline: opts.offline };
  await fetchArtifact(libArt, downloads, fetchOpts);
  if (hdrZip !== libZip) await fetchArtifact(hdrArt, downloads, fetchOpts);

  const raw = join(tmp, 'raw');
  const hp = artifacts.headers.prefix;
  const libMembers = artifacts.libs.map((l) => libArt.libPrefix + l);
  const hdrMembers = artifacts.headers.members.map((m) => hp + m);
  if (hdrZip === libZip) {
    log(`extracting ${variant} libraries and C API headers from ${libArt.file}`);
    await unzipMembers(libZip, raw, [...libMembers, ...hdrMembers], logFile);
  } else {
    log(`extracting ${variant} libraries from ${libArt.file} and C API headers from ${hdrArt.file}`);
    await unzipMembers(libZip, raw, libMembers, logFile);
    await unzipMembers(hdrZip, raw, hdrMembers, logFile);
  }

  mkdirSync(join(tmp, 'lib'), { recursive: true });
  for (const l of artifacts.libs) {
    const src = join(raw, libArt.libPrefix, l);
    if (!existsSync(src))
      throw new NativeSetupSkip('ARTIFACT_LAYOUT', `${libArt.file} has no ${libArt.libPrefix}${l}`);
    renameSync(src, join(tmp, 'lib', l));
  }
  renameSync(join(raw, hp), join(tmp, 'include'));
  for (const h of artifacts.headers.required) {
    if (!existsSync(join(tmp, 'include', h)))
      throw new NativeSetupSkip('ARTIFACT_LAYOUT', `${hdrArt.file} has no ${hp}${h}`);
  }
  rmSync(raw, { recursive: true, force: true });

  // Ask the library itself which TensorFlow it is (cheap: TF_Version() only).
  const tfVersion = probeTfVersion(join(tmp, 'lib'), logFile) ?? 'unknown';
  writeFileSync(
    join(tmp, '.complete.json'),
    JSON.stringify(
      {
        variant,
        tensorflow: tfVersion,
        libFrom: libArt.coordinates,
        headersFrom: hdrArt.coordinates,
        files: readdirSync(join(tmp, 'lib')),
      },
      null,
      2,
    ),
  );
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  log(`libtensorflow ${tfVersion} (${variant}) assembled in ${dir}`);
  return { dir, fresh: true };
}

function probeTfVersion(libDir, logFile) {
  const cc = which('cc') ?? which('gcc');
  if (!cc) return undefined;
  const src = join(libDir, '..', 'tfv.c');
  const exe = join(libDir, '..', 'tfv');
  writeFileSync(
    src,
    '#include <stdio.h>\nconst char* TF_Version(void);\nint main(void){puts(TF_Version());return 0;}\n',
  );
  const ok = capture(cc, [
    src,
    '-o',
    exe,
    `-L${libDir}`,
    '-l:libtensorflow_cc.so.2',
    '-l:libtensorflow_framework.so.2',
    `-Wl,-rpath,${libDir}`,
  ]);
  const v =
    ok !== undefined ? capture(exe, [], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } }) : undefined;
  rmSync(src, { force: true });
  rmSync(exe, { force: true });
  if (v === undefined) writeFileSync(logFile, 'TF_Version probe failed\n', { flag: 'a' });
  return v;
}

export function readLibtensorflowInfo(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, '.complete.json'), 'utf8'));
  } catch {
    return undefined;
  }
}
