SET LOCAL lock_timeout = '5s';
ALTER TABLE analysis_results DROP COLUMN batch_id;
DROP TABLE batch_jobs;
