"""COPY ... FROM 's3://...' as Redshift runs it: list or read a manifest, decompress, parse JSON, cast, reject."""
