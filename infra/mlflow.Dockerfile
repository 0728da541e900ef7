# The tracking server: MLflow pinned to the client's version, its PostgreSQL driver and S3
# client baked in (nothing is installed when the container starts).
FROM python:3.11.7-slim-bookworm
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt mlflow==3.17.2 "psycopg[binary]" boto3
ENV MLFLOW_DISABLE_TELEMETRY=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
