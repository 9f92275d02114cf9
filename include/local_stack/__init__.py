"""The embedded local stack: PostgreSQL as Redshift, moto as S3, Airflow on SQLite."""
