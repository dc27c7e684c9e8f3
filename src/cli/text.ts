// Apart from output.ts (tables, colours), so that the error path of every command can use it without loading them.
import { shown } from '../shown.js';

/** Says on stderr what in the folder `target` (a manifest: nothing) a command did not read: WAVs named otherwise, subfolders. */
export async function noteUnread(target: string): Promise<void> {
  const [{ statSync }, { describeUnread }] = await Promise.all([import('node:fs'), import('../data/clips.js')]);
  if (!statSync(target, { throwIfNoEntry: false })?.isDirectory()) return;
  const note = describeUnread(target);
  if (note) process.stderr.write(`digits: note: ${shown(note)}\n`);
}
