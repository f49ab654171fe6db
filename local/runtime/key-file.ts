/** Key files the local runtime generates once and every process then shares (the signing key, the sealing key). */
import { randomUUID } from 'node:crypto';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Creates `file` holding `content` (mode 0600, folder 0700) unless it exists. Atomic: the content is written to a
 * temporary file in the same folder, then hard-linked into place, which fails rather than overwrite; so processes
 * starting at once all end up reading the one complete file that won, never a half-written one.
 * @returns true when this call created the file, false when it existed
 * @throws the file system's error for anything but an existing file
 */
export async function createFileOnce(file: string, content: string): Promise<boolean> {
  const folder = dirname(file);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = join(folder, `.${basename(file)}.${process.pid}.${randomUUID()}.tmp`);
  await writeFile(temporary, content, { flag: 'wx', mode: 0o600 });
  try {
    await link(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary);
  }
}
