// The port the engine calls on every status transition. notify() only enqueues: it never blocks,
// never throws, and a slow or dead receiver costs a bounded queue, nothing else.

export interface TransitionNotice {
  task: string;
  from: string | null;
  to: string;
  /** Short and person-facing (e.g. the `error` line); never an environment value or a secret. */
  reason?: string | null;
}

export interface Notifier {
  notify(n: TransitionNotice): void;
  /** Deliver what is queued (up to `graceMs`), then stop. */
  close(graceMs?: number): Promise<void>;
}

export const noopNotifier: Notifier = { notify() {}, close: async () => {} };

/** Several notifiers as one (the webhook, the web page, tests). */
export function fanOut(...targets: Notifier[]): Notifier {
  return {
    notify(n) {
      for (const t of targets) {
        try {
          t.notify(n);
        } catch {
          /* one target's bug must not stop the others or the engine */
        }
      }
    },
    async close(graceMs) {
      await Promise.all(targets.map((t) => t.close(graceMs)));
    },
  };
}
