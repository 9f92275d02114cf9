"""Deployment settings: Airflow Variables, each with a documented default."""

from __future__ import annotations

PROJECT_BUCKET = "sparkify-staging"  # the bucket the project writes: COPY manifests and reports

DEFAULTS: dict[str, str] = {
    "sparkify_s3_bucket": "udacity-dend",
    "sparkify_log_prefix": "log_data/",
    "sparkify_song_prefix": "song_data/",
    "sparkify_log_jsonpath": "log_json_path.json",
    "sparkify_s3_region": "us-west-2",
    "sparkify_redshift_conn_id": "redshift",
    "sparkify_aws_conn_id": "aws_default",
    "sparkify_manifest_location": f"s3://{PROJECT_BUCKET}/manifests/",  # COPY manifests; the project writes here
    "sparkify_redshift_iam_role": "",  # ARN for COPY's IAM_ROLE; empty: the AWS connection's keys
    # How long backfill runs reuse a listing of the song catalogue (a duration; 0: every run lists)
    "sparkify_backfill_listing_max_age": "15m",
    "sparkify_infra_aws_conn_id": "aws_default",  # sparkify_infra: IAM, EC2 and Redshift administration
    # sparkify_report's pages: an ObjectStoragePath every worker reaches (connection from the URL's
    # user part, else sparkify_aws_conn_id). Never a worker's local folder.
    "sparkify_report_location": f"s3://{PROJECT_BUCKET}/reports/",
    "sparkify_report_dir": "reports",  # `make report`'s local copy; a relative path is under the project folder
}


def variable_template(name: str) -> str:
    """A Jinja template that reads Variable `name` at run time, falling back to its default."""
    return f"{{{{ var.value.get('{name}', '{DEFAULTS[name]}') }}}}"


def backfill_variable_template(name: str, otherwise: str) -> str:
    """Like variable_template in a backfill run; `otherwise` in any other run."""
    variable = f"var.value.get('{name}', '{DEFAULTS[name]}')"
    return f"{{{{ {variable} if dag_run.run_type == 'backfill' else '{otherwise}' }}}}"
