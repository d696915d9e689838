-- tracktion:no-transaction
-- Release v1.2.4, "Migration 002" (continued): containment queries on format metadata
-- (format_metadata @> '{"codec": "flac"}').
CREATE INDEX CONCURRENTLY audio_files_format_metadata_idx
  ON audio_files USING gin (format_metadata jsonb_path_ops);
