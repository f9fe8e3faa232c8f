import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** fsync one file or directory (directories: so a rename survives a power loss, not just a crash). */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync every file under dir (recursively), then dir itself. */
export async function fsyncTree(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) await fsyncTree(p);
    else await fsyncPath(p);
  }
  await fsyncPath(dir);
}
