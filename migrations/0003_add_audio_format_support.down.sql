SET LOCAL lock_timeout = '5s';
-- Rows already stored as flac or ogg stay; the narrower check applies to new rows only.
ALTER TABLE audio_files DROP CONSTRAINT audio_files_format_check;
ALTER TABLE audio_files ADD CONSTRAINT audio_files_format_check
  CHECK (format IN ('mp3', 'wav', 'aiff', 'm4a')) NOT VALID;
ALTER TABLE audio_files DROP COLUMN format_metadata;
