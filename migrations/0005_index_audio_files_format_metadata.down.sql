-- tracktion:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS audio_files_format_metadata_idx;
