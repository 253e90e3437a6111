// Moved to agents/process/ (the shared process layer); kept for adapters on the old path.
export * from './process/line-splitter.js';
