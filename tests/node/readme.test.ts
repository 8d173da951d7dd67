// Every TypeScript block of the README compiles (`tsc --strict`) against the built client and the
// generated bindings, as a user's app would import them: the blocks are read in order as one
// module next to `bindings/` (imports hoisted to the top, so later blocks use what earlier ones
// declare). The Rust blocks are compiled as doc tests of the `tabrpc` crate.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** What the README assumes the app has: its Clerk publishable key, and a button. */
const PRELUDE = `
declare const publishableKey: string;
declare const signOutButton: HTMLButtonElement;
`;

/** The README's ```ts blocks, in order. */
function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? "");
}

/** One module: every block's imports first, then the blocks' code in order. */
function assemble(parts: readonly string[]): string {
  const imports: string[] = [];
  const code: string[] = [];
  for (const part of parts) {
    // An import may span lines; it ends with its module specifier and a semicolon.
    const statements = part.split(/(?<=;)\n/);
    for (const statement of statements) {
      if (/^\s*import\s/.test(statement)) imports.push(statement.trim());
      else code.push(statement);
    }
    code.push("");
  }
  return [...imports, PRELUDE, ...code, "export {};"].join("\n");
}

describe("README TypeScript blocks", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const parts = blocks(readme);

  it("has blocks to check", () => {
    expect(parts.length).toBeGreaterThan(2);
  });

  // Building a TypeScript program takes several seconds, more on a busy machine.
  it("compile with tsc --strict against the client and the bindings", { timeout: 180_000 }, () => {
    // Inside web-client, so that `@tabrpc/client` resolves to the package itself (its built
    // declarations), `@clerk/clerk-js` to its dev dependency, and `../bindings/…` to the generated
    // bindings, as in the README.
    const file = path.join(root, "web-client", "readme-blocks.ts");
    const text = assemble(parts);
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, onError, fresh) =>
      path.resolve(name) === file
        ? ts.createSourceFile(name, text, language)
        : getSourceFile(name, language, onError, fresh);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
    const program = ts.createProgram([file], options, host);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || path.resolve(d.file.fileName) === file)
      .map((d) => {
        const where =
          d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
        const line = text.split("\n")[where - 1]?.trim() ?? "";
        return `line ${where} (${line}): ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    expect(problems, text).toEqual([]);
    // The Clerk wiring is checked against the real Clerk SDK's declarations (web-client's dev
    // dependency), not a stand-in.
    const clerk = program.getSourceFiles().map((f) => path.relative(root, f.fileName)).filter((f) => f.includes("@clerk/clerk-js/"));
    expect(clerk).toContain("web-client/node_modules/@clerk/clerk-js/dist/types/core/clerk.d.ts");
  });
});
