/**
 * reload-queue.ts runs a node's reloads one at a time. A request made while
 * a reload runs is answered by the next one, which starts after it: every
 * caller (a SIGHUP, `unibus reload` on the control socket) gets the outcome
 * of a reload that read the config file after it asked, and a burst of
 * requests costs at most two reloads.
 */

/** ReloadQueue serializes calls of `run` and coalesces the requests that arrive while one runs. */
export class ReloadQueue<T> {
  readonly #run: () => Promise<T>;
  #running?: Promise<T>;
  #queued?: Promise<T>;

  constructor(run: () => Promise<T>) {
    this.#run = run;
  }

  /** request resolves with the result of a run that started after this call (it rejects when that run throws). */
  request(): Promise<T> {
    const running = this.#running;
    if (!running) return this.#start();
    const next = () => {
      this.#queued = undefined;
      return this.#start();
    };
    this.#queued ??= running.then(next, next);
    return this.#queued;
  }

  #start(): Promise<T> {
    const p: Promise<T> = this.#run().finally(() => {
      if (this.#running === p) this.#running = undefined;
    });
    this.#running = p;
    return p;
  }
}
