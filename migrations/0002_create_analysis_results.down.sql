DROP TABLE analysis_results;
