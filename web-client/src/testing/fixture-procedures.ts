// Stand-in for generated bindings; replaced by bindings/conformance.ts.
// Hand-written in the exact shape the tabrpc-typescript exporter emits, for the conformance
// fixture of wire.md section 5 (without the subscriptions sub/subFail).

export type HelloInput = { who?: string | null };
export type Greeting = { text: string };
export type OptMutOutput = { got: string | null };
export type PostById = { id: number };
export type Post = { id: number; title: string };
export type Procedures = {
  "hello": { kind: "query"; input: HelloInput | null; output: Greeting; error: never; stream: false; markers: never };
  "helloStr": { kind: "query"; input: string | null; output: string; error: never; stream: false; markers: never };
  "noInput": { kind: "query"; input: null; output: string; error: never; stream: false; markers: never };
  "returnUndefined": { kind: "query"; input: null; output: null; error: never; stream: false; markers: never };
  "returnNull": { kind: "query"; input: null; output: string | null; error: never; stream: false; markers: never };
  "echo": { kind: "mutation"; input: string; output: string; error: never; stream: false; markers: never };
  "mut": { kind: "mutation"; input: null; output: string; error: never; stream: false; markers: never };
  "optMut": { kind: "mutation"; input: string | null; output: OptMutOutput; error: never; stream: false; markers: never };
  "unauthorized": { kind: "query"; input: null; output: null; error: never; stream: false; markers: never };
  "forbiddenMsg": { kind: "query"; input: null; output: null; error: never; stream: false; markers: never };
  "boom": { kind: "query"; input: null; output: null; error: never; stream: false; markers: never };
  "tooMany": { kind: "query"; input: null; output: null; error: never; stream: false; markers: never };
  "post.byId": { kind: "query"; input: PostById; output: Post; error: never; stream: false; markers: never };
  "slow": { kind: "query"; input: number; output: string; error: never; stream: false; markers: never };
  "iter": { kind: "query"; input: null; output: number; error: never; stream: true; markers: never };
};
