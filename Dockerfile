# The project's Airflow image for docker-compose.yaml: the official image of the pinned
# Airflow version (and the project's Python), plus requirements-runtime.txt (what the DAGs and
# plugins import) and requirements-local-stack.txt (what the Redshift emulator and the seed job,
# which Compose runs in this image too, import beyond it), both pinned as in requirements.txt,
# installed the way the Airflow docs describe (https://airflow.apache.org/docs/docker-stack/build.html):
# with apache-airflow pinned to the image's own version, so pip cannot up- or downgrade it.
# A deployment of the DAGs needs requirements-runtime.txt only (docs/aws.md).
FROM apache/airflow:3.3.2-python3.11

COPY requirements-runtime.txt /requirements-runtime.txt
COPY requirements-local-stack.txt /requirements-local-stack.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements-runtime.txt -r /requirements-local-stack.txt
