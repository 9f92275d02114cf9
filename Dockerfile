# The project's Airflow image for docker-compose.yaml: the official image of the pinned
# Airflow version (and the project's Python), plus requirements.txt, installed the way the
# Airflow docs describe (https://airflow.apache.org/docs/docker-stack/build.html): with
# apache-airflow pinned to the image's own version, so pip cannot up- or downgrade it.
FROM apache/airflow:3.3.2-python3.11

COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.txt
