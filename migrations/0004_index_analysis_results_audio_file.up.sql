-- tracktion:no-transaction
-- Release v1.2.4, "Migration 002: Index optimization for faster queries": the latest
-- results of a file (GET /api/v1/analysis/{id}). CONCURRENTLY keeps writes flowing while
-- it builds, and cannot run in a transaction. No IF NOT EXISTS on purpose: a failed
-- concurrent build leaves an INVALID index that IF NOT EXISTS would silently keep.
CREATE INDEX CONCURRENTLY analysis_results_audio_file_id_created_at_idx
  ON analysis_results (audio_file_id, created_at DESC);
