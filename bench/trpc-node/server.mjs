// The tRPC v11 side of the benchmark: what a TypeScript team would write. `profile.getUser`
// on the standalone adapter; the bearer JWT is verified with jose against the local JWKS (RS256,
// issuer, 60 s clock tolerance, as tabrpc's defaults), once per HTTP request in
// `createContext`, which tRPC shares across the calls of a batch.
//
// Settings: BENCH_PORT, BENCH_JWKS (the JWKS file), BENCH_ISSUER.

import { readFileSync } from "node:fs";

import { TRPCError, initTRPC } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { createLocalJWKSet, jwtVerify } from "jose";
import { z } from "zod";

const port = Number(process.env.BENCH_PORT ?? 4002);
const issuer = process.env.BENCH_ISSUER;
const jwks = createLocalJWKSet(JSON.parse(readFileSync(process.env.BENCH_JWKS, "utf8")));

async function createContext({ req }) {
  const header = req.headers.authorization;
  if (typeof header !== "string" || !header.startsWith("Bearer ")) {
    return { user: null };
  }
  try {
    const { payload } = await jwtVerify(header.slice(7), jwks, {
      issuer,
      algorithms: ["RS256"],
      clockTolerance: 60,
      requiredClaims: ["exp", "sub"],
    });
    return { user: { id: payload.sub } };
  } catch {
    return { user: null };
  }
}

const t = initTRPC.context().create();

const appRouter = t.router({
  profile: t.router({
    getUser: t.procedure
      .input(z.object({ viewerId: z.string().optional() }).optional())
      .query(({ ctx, input }) => {
        // The same guard as tabrpc's: a viewerId is checked against the verified subject.
        if (input?.viewerId !== undefined) {
          if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED" });
          if (input.viewerId !== ctx.user.id) throw new TRPCError({ code: "FORBIDDEN" });
        }
        return ctx.user
          ? { id: ctx.user.id, displayName: ctx.user.id, signedIn: true }
          : { id: "", displayName: "Anonymous", signedIn: false };
      }),
  }),
});

const server = createHTTPServer({ router: appRouter, createContext, basePath: "/trpc/" });
server.listen(port, "127.0.0.1", () => {
  console.log(`trpc-node listening on http://127.0.0.1:${port}/trpc`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
