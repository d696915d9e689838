-- Baseline: one row per analysis of an audio file (bpm, key, energy, the raw result).
CREATE TABLE analysis_results (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  audio_file_id bigint NOT NULL REFERENCES audio_files (id) ON DELETE CASCADE,
  analyzer text NOT NULL,
  analyzer_version text NOT NULL,
  bpm numeric(6, 2) CHECK (bpm > 0),
  musical_key text,
  energy real CHECK (energy BETWEEN 0 AND 1),
  result jsonb NOT NULL DEFAULT '{}'::jsonb,
  processing_ms integer CHECK (processing_ms >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
