-- Release v1.2.4, "Migration 001: Add support for new audio formats": FLAC and OGG, and
-- a format_metadata JSONB column (Vorbis comments, FLAC STREAMINFO, ID3 frames ...).
SET LOCAL lock_timeout = '5s';

-- A constant default: no table rewrite (PostgreSQL 11+), existing rows read '{}'.
ALTER TABLE audio_files ADD COLUMN format_metadata jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Widen the format check without scanning the table under the lock: the new constraint is
-- added NOT VALID and validated by 0008 (which only needs a SHARE UPDATE EXCLUSIVE lock).
ALTER TABLE audio_files DROP CONSTRAINT audio_files_format_check;
ALTER TABLE audio_files ADD CONSTRAINT audio_files_format_check
  CHECK (format IN ('mp3', 'wav', 'aiff', 'm4a', 'flac', 'ogg')) NOT VALID;
