// Used by the CLI and by the library's logs (training, data) alike.

/**
 * Text from outside (a file name, an error message quoting one) as one printable line: control
 * characters written as escapes (a tab as backslash-t, ESC as backslash-x1b, ...), so a name cannot split a tab-separated row or send a
 * terminal escape sequence.
 */
export function shown(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
