// A hand-written tRPC router *type* mirroring the fixture (wire.md section 5), so that the
// unmodified @trpc/client can be used typed. Only ever imported with `import type`: this module
// never runs, no tRPC server is started; the procedures are served by the Rust fixture.
import { initTRPC } from "@trpc/server";

const t = initTRPC.create();
const input =
  <T>() =>
  (value: unknown) =>
    value as T;
const never = (): never => {
  throw new Error("type-only router");
};

const appRouter = t.router({
  hello: t.procedure.input(input<{ who?: string | null } | null | undefined>()).query((): { text: string } => never()),
  helloStr: t.procedure.input(input<string | null | undefined>()).query((): string => never()),
  noInput: t.procedure.query((): string => never()),
  returnUndefined: t.procedure.query((): void => never()),
  returnNull: t.procedure.query((): string | null => never()),
  echo: t.procedure.input(input<string>()).mutation((): string => never()),
  mut: t.procedure.mutation((): string => never()),
  optMut: t.procedure.input(input<string | null | undefined>()).mutation((): { got: string | null } => never()),
  unauthorized: t.procedure.query((): void => never()),
  forbiddenMsg: t.procedure.query((): void => never()),
  boom: t.procedure.query((): void => never()),
  tooMany: t.procedure.query((): void => never()),
  post: t.router({
    byId: t.procedure.input(input<{ id: number }>()).query((): { id: number; title: string } => never()),
  }),
  slow: t.procedure.input(input<number>()).query((): string => never()),
  iter: t.procedure.query(async function* (): AsyncGenerator<number, void, unknown> {
    yield never();
  }),
});

export type AppRouter = typeof appRouter;
