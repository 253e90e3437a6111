// The operator's PERMISSION_MODE is a ceiling: a task may ask for less, never for more.
import { AgentError } from '../errors.js';
import { PERMISSION_MODES, type PermissionMode } from './agent.js';

export function clampPermissionMode(requested: PermissionMode | undefined, ceiling: PermissionMode): PermissionMode {
  if (requested === undefined) return ceiling;
  if (PERMISSION_MODES.indexOf(requested) > PERMISSION_MODES.indexOf(ceiling)) {
    throw new AgentError('PERMISSION_DENIED', `permission_mode ${requested} is above the operator's ceiling PERMISSION_MODE=${ceiling}; ask for ${PERMISSION_MODES.slice(0, PERMISSION_MODES.indexOf(ceiling) + 1).join(', ')}`);
  }
  return requested;
}
