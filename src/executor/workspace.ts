// Moved: the working-dir check is shared by planning and execution (engine/working-dir.ts).
export { isInside, resolveWorkingDir } from '../engine/working-dir.js';
