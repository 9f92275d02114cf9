"""One COPY specification, executed by Redshift or, locally, by our own loader."""
