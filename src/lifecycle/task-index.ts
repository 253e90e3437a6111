// Moved to vault/; kept so branches written against the old path still build.
export * from '../vault/task-index.js';
