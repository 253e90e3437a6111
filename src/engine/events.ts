// Typed engine events: what the engine did, as facts that tests wait on (instead of sleeping),
// logs and views subscribe to. Emitting never throws into the engine: a failing listener is
// reported on the bus's 'listener:error' and otherwise ignored.
import { EventEmitter } from 'node:events';
import type { Readiness } from '../domain/readiness.js';
import type { Actor, Status } from '../domain/status.js';

export interface EngineEventMap {
  /** A status written (by the engine or the CLI) or noticed (a person's edit); `reason`: the note's `error` line when one was written. */
  'task:transition': { taskId: string; from: Status; to: Status; actor: Actor; component: string; reason?: string };
  /** An agent process started: a task attempt (`run`) or an agent planner (`plan`). */
  'run:start': { taskId: string; kind: 'run' | 'plan'; attempt: number; pid: number };
  /** That process ended and its outcome was recorded. */
  'run:end': { taskId: string; kind: 'run' | 'plan'; attempt: number; ok: boolean; stopReason?: string };
  /** A stop was requested (timeout, pause, cancel, moved, shutdown). */
  'run:stop': { taskId: string; kind: 'run' | 'plan'; reason: string };
  /** One executor dispatch pass: what it started and why each other queued task waits. */
  'dispatch:pass': { started: string[]; verdicts: ReadonlyMap<string, Readiness> };
  /** One orchestrator step on a note finished. */
  'orchestrator:step': { taskId: string; status: Status | undefined };
  /** One pass of the index over the active folders: `full` when it checked every note held. */
  'index:pass': { full: boolean; checked: number };
  /** One watchdog pass finished. */
  'watchdog:pass': { recovered: string[] };
  'listener:error': { event: string; error: unknown };
}

export type EngineEventName = keyof EngineEventMap;

type Args = { [K in EngineEventName]: [EngineEventMap[K]] };

export class EngineEvents {
  private readonly emitter = new EventEmitter<Args>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  on<K extends EngineEventName>(name: K, fn: (e: EngineEventMap[K]) => void): () => void {
    const l = fn as never;
    this.emitter.on(name, l);
    return () => this.emitter.off(name, l);
  }

  /** Whether anyone listens to `name` (a caller can then skip building events nobody reads). */
  has(name: EngineEventName): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  emit<K extends EngineEventName>(name: K, e: EngineEventMap[K]): void {
    if (this.emitter.listenerCount(name) === 0) return; // listeners() copies an array each call
    for (const l of this.emitter.listeners(name) as ((e: EngineEventMap[K]) => void)[]) {
      try {
        l(e);
      } catch (error) {
        if (name !== 'listener:error') this.emit('listener:error', { event: name, error });
      }
    }
  }

  /** The first event `name` for which `match` holds, emitted from now on. */
  next<K extends EngineEventName>(name: K, match: (e: EngineEventMap[K]) => boolean = () => true, timeoutMs = 15_000): Promise<EngineEventMap[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${name} event matched within ${timeoutMs}ms`));
      }, timeoutMs);
      const off = this.on(name, (e) => {
        if (!match(e)) return;
        clearTimeout(timer);
        off();
        resolve(e);
      });
    });
  }
}
