-- tracktion:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS analysis_results_audio_file_id_created_at_idx;
