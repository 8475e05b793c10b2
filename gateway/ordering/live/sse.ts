// Moved to gateway/live/ (shared by every context's live endpoints); kept here for the ordering imports.
export * from '../../live/sse.js';
