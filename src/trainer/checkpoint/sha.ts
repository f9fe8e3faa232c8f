import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Weight files of an HF model folder: the top-level *.safetensors files (config and manifest excluded). */
export async function weightFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => n.endsWith('.safetensors')).sort();
}

/**
 * sha256 of a checkpoint's weights, hex. Definition (what followers recompute): for each weight
 * file in byte-wise ascending name order, hash utf8(name) ‖ 0x00 ‖ uint64-LE(size) ‖ contents.
 * Names and sizes are framed so that renaming or splitting files changes the digest.
 */
export async function weightsSha256(dir: string, files?: readonly string[]): Promise<string> {
  const list = files ? [...files].sort() : await weightFiles(dir);
  const h = createHash('sha256');
  for (const name of list) {
    const path = join(dir, name);
    const { size } = await stat(path);
    const frame = Buffer.alloc(8);
    frame.writeBigUInt64LE(BigInt(size));
    h.update(Buffer.from(name, 'utf8'));
    h.update(Buffer.from([0]));
    h.update(frame);
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}
