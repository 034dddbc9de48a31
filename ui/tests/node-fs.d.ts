// The one Node API the tests use (the project has no @types/node): reading a source file, such as
// app.css, whose values a test checks.
declare module 'node:fs' {
  export function readFileSync(path: string | URL, encoding: 'utf8'): string;
}
