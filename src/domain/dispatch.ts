// Dispatch order and the key that serialises runs sharing a working_dir. Pure.
import { resolve } from 'node:path';
import { PRIORITY_RANK, type Priority } from './status.js';

export interface Dispatchable {
  id: string;
  /** When the task was first seen (its file's birth time), for age order. */
  firstSeen: number;
  task: { priority: Priority; due?: string };
}

/** urgent > high > medium > low, then earliest due (none last), then oldest, then id. */
export function dispatchOrder(a: Dispatchable, b: Dispatchable): number {
  const p = PRIORITY_RANK[a.task.priority] - PRIORITY_RANK[b.task.priority];
  if (p !== 0) return p;
  const da = a.task.due ?? '\uffff';
  const db = b.task.due ?? '\uffff';
  if (da !== db) return da < db ? -1 : 1;
  return a.firstSeen - b.firstSeen || a.id.localeCompare(b.id);
}

/** Runs sharing a working_dir are serialised; tasks without one each get their own scratch dir. */
export function dirKey(task: { id: string; workingDir?: string }): string {
  return task.workingDir ? resolve(task.workingDir) : `scratch:${task.id}`;
}
