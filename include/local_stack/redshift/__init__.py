"""A Redshift emulator for the local stack: a PostgreSQL wire-protocol front end that runs COPY from S3."""
