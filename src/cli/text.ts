// Apart from output.ts (tables, colours), so that the error path of every command can use it without loading them.

/**
 * Text from outside (a file name, an error message quoting one) as one printable line: control
 * characters written as escapes (a tab as backslash-t, ESC as backslash-x1b, ...), so a name cannot split a tab-separated row or send a
 * terminal escape sequence.
 */
export function shown(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Says on stderr what in the folder `target` (a manifest: nothing) a command did not read: WAVs named otherwise, subfolders. */
export async function noteUnread(target: string): Promise<void> {
  const [{ statSync }, { describeUnread }] = await Promise.all([import('node:fs'), import('../data/clips.js')]);
  if (!statSync(target, { throwIfNoEntry: false })?.isDirectory()) return;
  const note = describeUnread(target);
  if (note) process.stderr.write(`digits: note: ${shown(note)}\n`);
}
