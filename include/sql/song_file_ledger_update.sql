-- Record the song files this run staged, in the publish transaction, together with the songs
-- and artists derived from them: a file is recorded only when everything it gave has been
-- published, and the next hourly run stages only files that are new or changed since.
DELETE FROM song_file_ledger
USING {{ run_scoped('staging_song_files', run_id) }} f
WHERE song_file_ledger.s3_key = f.s3_key;

INSERT INTO song_file_ledger (s3_key, etag, size, loaded_at)
SELECT s3_key, etag, size, %(window_end)s
FROM {{ run_scoped('staging_song_files', run_id) }}
