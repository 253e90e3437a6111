// Moved to domain/; kept so branches written against the old path still build.
export * from '../domain/task.js';
