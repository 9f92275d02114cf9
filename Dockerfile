# The project's Airflow image for docker-compose.yaml: the official image of the pinned
# Airflow version (and the project's Python), plus requirements-runtime.txt (what the DAGs and
# plugins need, pinned as in requirements.txt, without the local stack's and the tests' tools),
# installed the way the Airflow docs describe (https://airflow.apache.org/docs/docker-stack/build.html):
# with apache-airflow pinned to the image's own version, so pip cannot up- or downgrade it.
FROM apache/airflow:3.3.2-python3.11

COPY requirements-runtime.txt /requirements-runtime.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements-runtime.txt
