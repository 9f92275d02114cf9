"""The pages tasks write to S3 (the report, a run's data quality page), opened through Airflow's API server.

A task's extra link names only the DAG, the run, the task and the page; the API server checks the
caller may read that DAG, finds the page's S3 URI in the task's XCom and redirects to a presigned
URL made at that moment, so no link that Airflow stores carries a credential.
"""
