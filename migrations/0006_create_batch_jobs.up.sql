-- Release v1.2.4, "Migration 003: Add batch processing tracking tables": batch_jobs for
-- POST /api/v1/analysis/batch and its progress, and analysis_results.batch_id.
CREATE TABLE batch_jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  requested_by text,
  total_files integer NOT NULL DEFAULT 0 CHECK (total_files >= 0),
  processed_files integer NOT NULL DEFAULT 0 CHECK (processed_files >= 0),
  failed_files integer NOT NULL DEFAULT 0 CHECK (failed_files >= 0),
  options jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  CONSTRAINT batch_jobs_progress_check CHECK (processed_files + failed_files <= total_files)
);

CREATE INDEX batch_jobs_status_created_at_idx ON batch_jobs (status, created_at);

SET LOCAL lock_timeout = '5s';

-- Nullable, no default: a catalog-only change. The foreign key is added NOT VALID (no scan
-- under the lock) and validated by 0008; the column's index is built concurrently by 0007.
ALTER TABLE analysis_results
  ADD COLUMN batch_id bigint,
  ADD CONSTRAINT analysis_results_batch_id_fkey
    FOREIGN KEY (batch_id) REFERENCES batch_jobs (id) ON DELETE SET NULL NOT VALID;
