DROP TABLE audio_files;
