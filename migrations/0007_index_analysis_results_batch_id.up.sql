-- tracktion:no-transaction
-- Results of a batch (GET /api/v1/analysis/{id}/progress); most results have no batch.
CREATE INDEX CONCURRENTLY analysis_results_batch_id_idx
  ON analysis_results (batch_id) WHERE batch_id IS NOT NULL;
