// Stream cursors of remote runs, one small file each (e.g. under vault/.vaultrunner/queue/), so a
// restarted coordinator reads each run's stream on from where it stopped: nothing lost or repeated.
import { join } from 'node:path';
import { readJson, removeFile, writeJson } from '../vault/json-file.js';
import type { CursorStore } from './ports.js';

export function createFileCursorStore(dir: string): CursorStore {
  const file = (id: string) => join(dir, `${encodeURIComponent(id)}.cursor.json`);
  return {
    async get(id) {
      const v = await readJson<{ id?: unknown }>(file(id)).catch(() => undefined);
      return typeof v?.id === 'string' && /^\d+-\d+$/.test(v.id) ? v.id : undefined;
    },
    async set(id, streamId) {
      // No fsync: a cursor lost in a power cut only repeats a few transcript lines.
      await writeJson(file(id), { id: streamId }, { fsync: false });
    },
    async delete(id) {
      await removeFile(file(id));
    },
  };
}
