// The service's last word on each agent CLI's health, in .vaultrunner/agents.json, so `list` and
// `show` (other processes) give the same "agent unavailable" reason the executor acts on.
import { join } from 'node:path';
import { readJson, writeJson } from './json-file.js';
import type { VaultPaths } from './layout.js';

export interface AgentHealth {
  ok: boolean;
  detail: string;
}

export type AgentHealthFile = Record<string, AgentHealth>;

const fileOf = (paths: VaultPaths) => join(paths.state, 'agents.json');

export async function readAgentHealth(paths: VaultPaths): Promise<AgentHealthFile> {
  return (await readJson<AgentHealthFile>(fileOf(paths)).catch(() => undefined)) ?? {};
}

export async function writeAgentHealth(paths: VaultPaths, health: AgentHealthFile): Promise<void> {
  await writeJson(fileOf(paths), health, { fsync: false });
}
