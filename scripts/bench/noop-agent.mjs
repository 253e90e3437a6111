#!/usr/bin/env node
// No-op agent for benchmarks: so figures measure vaultrunner, not a model. Appends (O_APPEND, one
// write per line) `start <task> <pid> <processStartMs> <codeStartMs>` and `end <task> <pid> <ms>`
// to BENCH_LOG. processStartMs is performance.timeOrigin (when the OS process began), codeStartMs
// is Date.now() once Node has booted (~90 ms later on a slow core); both are on the wall clock.
import { appendFileSync } from 'node:fs';

const codeStart = Date.now();
const file = process.env.BENCH_LOG;
const id = process.env.VAULTRUNNER_TASK_ID ?? '-';
const log = (line) => file && appendFileSync(file, `${line}\n`);
log(`start ${id} ${process.pid} ${performance.timeOrigin.toFixed(2)} ${codeStart}`);
// Drain the prompt (the writer must never see EPIPE), then end.
process.stdin.on('data', () => {});
process.stdin.on('end', () => {
  log(`end ${id} ${process.pid} ${Date.now()}`);
});
process.stdin.on('error', () => {});
