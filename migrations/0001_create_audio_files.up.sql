-- Baseline: the audio files the file-watcher discovers and the analysis-service analyses.
CREATE TABLE audio_files (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  path text NOT NULL,
  sha256 char(64) NOT NULL,
  format text NOT NULL
    CONSTRAINT audio_files_format_check CHECK (format IN ('mp3', 'wav', 'aiff', 'm4a')),
  size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
  duration_seconds numeric(10, 3) CHECK (duration_seconds >= 0),
  sample_rate_hz integer CHECK (sample_rate_hz > 0),
  channels smallint CHECK (channels > 0),
  status text NOT NULL DEFAULT 'discovered'
    CHECK (status IN ('discovered', 'analyzing', 'analyzed', 'failed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audio_files_path_key UNIQUE (path)
);

-- A new, empty table: a plain CREATE INDEX locks nothing that is in use.
CREATE INDEX audio_files_sha256_idx ON audio_files (sha256);
