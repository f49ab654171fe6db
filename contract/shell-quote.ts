/**
 * Single-quotes `text` for a POSIX shell: a `'` inside becomes `'\''`, so any value (a token, a JSON document, an
 * unresolved CloudFormation token) survives `eval` and copy and paste unchanged. Never throws.
 */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
