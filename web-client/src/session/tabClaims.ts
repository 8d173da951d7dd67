/**
 * Copied-tab detection for ids kept in `sessionStorage`.
 *
 * The browser copies a tab's `sessionStorage` into a tab opened by `window.open` and into a
 * duplicated tab, so both would use one session id (and see, and write, one cart). Nothing in
 * the copy tells it apart from the original; only the original being **alive** does. So tabs
 * talk over a `BroadcastChannel` (same origin, same browser profile), about digests of ids, never
 * the ids themselves:
 *
 * - a tab that uses an id answers `held` to every `probe` for it, until its page is hidden
 *   (`pagehide`: unload, reload, navigation, back/forward cache), when it says `released`;
 * - a tab that found an id in `sessionStorage` and cannot tell it is its own (see the session
 *   store) sends a `probe` and waits `probeMs`. No answer: no live tab uses the id, it is this
 *   tab's (a restored tab, a navigation in the same tab). An answer from a tab that then says
 *   `released` within `releaseMs`: that was this tab's own previous page, unloading (after a
 *   reload or a navigation its `pagehide` can run after the new page's first script); the id is
 *   this tab's. An answer without a release: a live tab owns the id, this tab is a copy and makes
 *   its own.
 *
 * Where `BroadcastChannel` is missing, nothing is detected (every check answers "own").
 *
 * @module
 */
import { isRecord } from "../internals/envelope.js";
import { digestOf, generateSessionId } from "./id.js";

/** Timings of the copied-tab check (see `SessionStoreOptions.copyCheck`). */
export interface CopyCheckOptions {
  /**
   * How long a tab waits for another tab to say it uses the same id. Messages between tabs take
   * about a millisecond; a busy machine takes longer. Defaults to 300 ms.
   */
  probeMs?: number | undefined;
  /**
   * How long it then waits for that tab to let go of the id (a page being unloaded does so at
   * once) before concluding it is a copy. Defaults to 1000 ms.
   */
  releaseMs?: number | undefined;
}

type Message =
  | { readonly t: "probe"; readonly d: string; readonly from: string }
  | { readonly t: "held"; readonly d: string; readonly from: string; readonly to: string }
  | { readonly t: "released"; readonly d: string; readonly from: string };

/** Other scripts of the origin may post on the channel too: only well-formed messages count. */
function parse(data: unknown): Message | null {
  if (!isRecord(data) || typeof data.d !== "string" || typeof data.from !== "string") return null;
  if (data.t === "probe" || data.t === "released") return data as Message;
  if (data.t === "held" && typeof data.to === "string") return data as Message;
  return null;
}

/** What this tab claims, and how it asks the others. */
export class TabClaims {
  /** This page's name on the channel (random; pages, not ids). */
  readonly #self = generateSessionId();
  readonly #channel: BroadcastChannel | null;
  readonly #probeMs: number;
  readonly #releaseMs: number;
  /** The digest of the id this page answers for. */
  #owned: string | null = null;
  /** After `pagehide`, until `pageshow`: the page answers for nothing. */
  #hidden = false;
  readonly #listeners = new Set<(message: Message) => void>();

  constructor(name: string, options: CopyCheckOptions) {
    this.#probeMs = options.probeMs ?? 300;
    this.#releaseMs = options.releaseMs ?? 1000;
    let channel: BroadcastChannel | null = null;
    try {
      channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
    } catch {
      // Opaque origins (sandboxed frames, data: URLs) may refuse channels: no detection there.
    }
    this.#channel = channel;
    channel?.addEventListener("message", (event: MessageEvent) => this.#receive(event.data));
  }

  /** Answers for `id` from now on (`null`: for nothing), and releases the previous one. */
  own(id: string | null): void {
    const digest = id === null ? null : digestOf(id);
    if (this.#owned !== null && this.#owned !== digest && !this.#hidden) this.#post({ t: "released", d: this.#owned, from: this.#self });
    this.#owned = digest;
  }

  /** The page is hidden (`pagehide`): release the id for a successor in this tab. */
  hide(): void {
    if (this.#owned !== null && !this.#hidden) this.#post({ t: "released", d: this.#owned, from: this.#self });
    this.#hidden = true;
  }

  /** The page is shown again (`pageshow` from the back/forward cache). */
  show(): void {
    this.#hidden = false;
  }

  /**
   * Whether another live page uses `id`: `"copy"` when one answers and does not release it
   * within `releaseMs`, else `"own"`. Resolves after `probeMs` at most when no page answers.
   */
  verify(id: string): Promise<"own" | "copy"> {
    const channel = this.#channel;
    if (channel === null) return Promise.resolve("own");
    const digest = digestOf(id);
    return new Promise((resolve) => {
      const holders = new Set<string>();
      let waitingForRelease = false;
      let timer: ReturnType<typeof setTimeout>;
      const finish = (verdict: "own" | "copy") => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(verdict);
      };
      const listener = (message: Message) => {
        if (message.d !== digest) return;
        if (message.t === "held" && message.to === this.#self) holders.add(message.from);
        if (message.t === "released") {
          holders.delete(message.from);
          if (waitingForRelease && holders.size === 0) finish("own");
        }
      };
      this.#listeners.add(listener);
      this.#post({ t: "probe", d: digest, from: this.#self });
      timer = setTimeout(() => {
        if (holders.size === 0) return finish("own");
        waitingForRelease = true;
        timer = setTimeout(() => finish(holders.size === 0 ? "own" : "copy"), this.#releaseMs);
      }, this.#probeMs);
    });
  }

  /** Releases the id and leaves the channel. */
  dispose(): void {
    this.hide();
    this.#listeners.clear();
    this.#channel?.close();
  }

  #receive(data: unknown): void {
    const message = parse(data);
    if (message === null || message.from === this.#self) return;
    if (message.t === "probe" && message.d === this.#owned && !this.#hidden) {
      this.#post({ t: "held", d: message.d, from: this.#self, to: message.from });
    }
    for (const listener of [...this.#listeners]) listener(message);
  }

  #post(message: Message): void {
    try {
      this.#channel?.postMessage(message);
    } catch {
      // A closed channel (after dispose): nothing to tell.
    }
  }
}
