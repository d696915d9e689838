-- Validate the constraints 0003 and 0006 added NOT VALID. VALIDATE CONSTRAINT scans the
-- table under a SHARE UPDATE EXCLUSIVE lock, which does not block reads or writes.
SET LOCAL lock_timeout = '5s';
ALTER TABLE audio_files VALIDATE CONSTRAINT audio_files_format_check;
ALTER TABLE analysis_results VALIDATE CONSTRAINT analysis_results_batch_id_fkey;
