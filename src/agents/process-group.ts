// Kept for adapters written against the old path; the primitives live in os/process.ts.
export * from '../os/process.js';
