-- tracktion:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS analysis_results_batch_id_idx;
