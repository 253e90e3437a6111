// The permission modes an operator may set as a ceiling and a note may ask for (lowest first).
// At the bottom of the layers because the config validates PERMISSION_MODE against them.
export const PERMISSION_MODES = ['plan', 'default', 'acceptEdits', 'bypassPermissions'] as const;
export type PermissionMode = (typeof PERMISSION_MODES)[number];
