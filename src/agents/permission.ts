// The operator's PERMISSION_MODE is a ceiling: a task may ask for less, never for more. Asking for
// more is refused (not silently lowered), so a note never runs with a mode it did not ask for.
import { AgentError } from '../errors.js';
import { PERMISSION_MODES, type PermissionMode } from './agent.js';

export function clampPermissionMode(requested: PermissionMode | undefined, ceiling: PermissionMode): PermissionMode {
  if (requested === undefined) return ceiling;
  const r = PERMISSION_MODES.indexOf(requested);
  const c = PERMISSION_MODES.indexOf(ceiling);
  if (r < 0 || c < 0) {
    throw new AgentError('PERMISSION_DENIED', `unknown permission mode "${String(r < 0 ? requested : ceiling)}"; use one of ${PERMISSION_MODES.join(', ')}`);
  }
  if (r > c) {
    throw new AgentError('PERMISSION_DENIED', `permission mode "${requested}" is above the operator's ceiling "${ceiling}"; ask for "${ceiling}" or lower, or raise PERMISSION_MODE in the config`);
  }
  return requested;
}
