/**
 * A file system error in plain words: `words` gives the caller's own wording for the codes it
 * expects (ENOENT: "file not found", "no such folder", ...); EACCES is "permission denied"; anything
 * else is the error's own message. No imports: the browser build bundles the WAV reader that uses it.
 */
export function fsReason(err: unknown, words: Readonly<Record<string, string>> = {}): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && words[code] !== undefined) return words[code];
  if (code === 'EACCES') return 'permission denied';
  return (err as Error | null)?.message ?? String(err);
}
