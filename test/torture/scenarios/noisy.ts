// noisy agents: one floods stdout with hundreds of MB, one ignores SIGTERM past its timeout. The
// service's memory (RSS of the real CLI child) stays bounded, transcripts are capped, the stubborn
// run is stopped at its timeout (SIGKILL after the grace), and the service keeps working.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findNote } from '../../helpers/find-note.js';
import { fixtureAgent, parseRunLog } from '../../helpers/vault-harness.js';
import { agentAlive, logLines, ready, sleep, stop, taskNote, tortureVault, until, type ScenarioReport } from '../lib.js';

export interface NoisyOptions {
  noisyMb: number;
  /** Time limit of the flooding run (it may finish sooner). */
  timeoutS: number;
  rssLimitMb?: number;
}

const MD_CAP = 1024 * 1024 + 16 * 1024; // transcript .md cap (1 MiB) plus its summary
const JSONL_CAP = 8 * 1024 * 1024 + 16 * 1024;

export async function noisyScenario(o: NoisyOptions): Promise<ScenarioReport> {
  const agents = { ok: fixtureAgent('ok-logged'), noisy: fixtureAgent('noisy'), stubborn: fixtureAgent('ignore-term') };
  const tv = tortureVault('noisy', agents, { NOISY_MB: String(o.noisyMb), KILL_GRACE: '1s', MAX_ATTEMPTS: '1' });
  const limit = o.rssLimitMb ?? 300;
  const problems: string[] = [];
  const facts: Record<string, unknown> = { noisyMb: o.noisyMb };
  const svc = tv.start();
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${svc.child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        /* exited */
      }
      await sleep(100);
    }
  })();
  const na = join(tv.vault, 'Needs_Action');
  const status = (id: string) => {
    const found = findNote(tv.vault, id, ['Needs_Action', 'Done']);
    return found && /^status: (\w+)$/m.exec(found.text)?.[1];
  };
  try {
    await ready(svc);
    facts.rssAtReadyMb = Math.round(peak);
    writeFileSync(join(na, 'flood.md'), taskNote(`type: claude_code\nagent: noisy\ntimeout: ${o.timeoutS}s`));
    writeFileSync(join(na, 'stubborn.md'), taskNote('type: claude_code\nagent: stubborn\ntimeout: 2s'));
    const t0 = Date.now();
    await until(() => ['done', 'failed'].includes(status('flood') ?? '') && status('stubborn') === 'failed', 'both runs finished', (o.timeoutS + 30) * 1000, 100);
    facts.floodSeconds = Math.round((Date.now() - t0) / 100) / 10;
    facts.flood = status('flood');
    // Stopped at its timeout: the stop was asked ~2 s after the start, SIGKILL ~1 s (grace) later.
    const run = parseRunLog(tv.runLog).find((r) => r.task === 'stubborn');
    const stopLine = logLines(tv.vault).find((l) => l.task === 'stubborn' && String(l.msg).includes('stopping agent (timeout)'));
    // The log file is written asynchronously: the note can say `failed` before its line is there.
    await until(() => logLines(tv.vault).some((l) => l.task === 'stubborn' && l.to === 'failed'), 'the stubborn failure logged', 10_000, 50).catch(() => undefined);
    const failLine = logLines(tv.vault).find((l) => l.task === 'stubborn' && l.to === 'failed');
    // The service's own clock of the start (the agent logs its start only once Node has booted).
    const startLine = logLines(tv.vault).find((l) => l.task === 'stubborn' && l.to === 'executing');
    if (!run || !stopLine || !failLine || !startLine) problems.push(`stubborn: missing evidence (run ${Boolean(run)}, start/stop/failed lines ${Boolean(startLine)}/${Boolean(stopLine)}/${Boolean(failLine)})`);
    else {
      const stopAfter = Number(stopLine.time) - Number(startLine.time);
      const endedAfter = Number(failLine.time) - Number(startLine.time);
      facts.stubbornStopAfterMs = stopAfter;
      facts.stubbornFailedAfterMs = endedAfter;
      // Bounds leave room for a loaded machine (watchdog passes every 200 ms). The timeout counts
      // from just before the note's `executing` write, which on a slow disk may be logged late.
      if (stopAfter < 1500 || stopAfter > 5000) problems.push(`stubborn: stop asked ${stopAfter} ms after start, expected ~2000 (timeout: 2s)`);
      if (endedAfter - stopAfter < 900 || endedAfter - stopAfter > 5000) problems.push(`stubborn: recorded ${endedAfter - stopAfter} ms after the stop, expected ~1000 (KILL_GRACE: SIGTERM is ignored)`);
      if (agentAlive(run.pid, tv.runLog)) problems.push(`stubborn: agent pid ${run.pid} is still alive`);
      const text = readFileSync(join(na, 'stubborn.md'), 'utf8');
      if (!/^error: .*timeout/m.test(text)) problems.push(`stubborn: no timeout error in the note:\n${text}`);
    }
    // Still working afterwards.
    writeFileSync(join(na, 'after.md'), taskNote('type: claude_code'));
    await until(() => status('after') === 'done', 'a task after the noise', 20_000, 100);
  } catch (err) {
    problems.push(String(err));
  } finally {
    sampling = false;
    await sampler;
    await stop(svc);
  }
  facts.peakRssMb = Math.round(peak);
  if (peak > limit) problems.push(`service RSS peaked at ${Math.round(peak)} MB, limit ${limit} MB`);
  for (const [file, cap] of [
    ['flood/attempt-1.md', MD_CAP],
    ['flood/attempt-1.jsonl', JSONL_CAP],
    ['stubborn/attempt-1.md', MD_CAP],
  ] as const) {
    const p = join(tv.vault, 'Logs', 'runs', file);
    const size = existsSync(p) ? statSync(p).size : -1;
    facts[file] = size;
    if (size < 0) problems.push(`transcript ${file} is missing`);
    else if (size > cap) problems.push(`transcript ${file} is ${size} bytes, over its cap ${cap}`);
  }
  const report: ScenarioReport = { name: 'noisy', problems, facts };
  if (problems.length === 0) tv.cleanup();
  else report.facts.kept = tv.root;
  return report;
}
