# syntax=docker/dockerfile:1
# The project's Airflow image: the official Airflow 3.3.2 image plus the pinned runtime set
# (requirements.txt within constraints.txt, the one lock) and the project's code.
#
# The base is the official *slim* image (Airflow without the bundle of providers), so that the
# lock describes the Python packages of the image; the executors the deployments use (Celery,
# Kubernetes) are pinned in requirements.txt. Python 3.11, as the lock. No test or lint tool is
# installed (those are requirements-dev.txt). For reproducible builds pin the base by digest:
#   docker build --build-arg AIRFLOW_IMAGE=apache/airflow:slim-3.3.2-python3.11@sha256:<digest> .
ARG AIRFLOW_IMAGE=apache/airflow:slim-3.3.2-python3.11
FROM ${AIRFLOW_IMAGE} AS runtime

# Only dags/, plugins/ and the project root are on the import path (`include` imports
# everywhere); the landing zone, inbox and pacer files live under PROJECT_DATA_DIR.
ENV PYTHONPATH=/opt/project \
    PROJECT_DATA_DIR=/opt/project/data \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/project/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/project/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# Group 0 owns the project, as in the official image: Kubernetes may run it under any uid.
USER 0
RUN mkdir -p /opt/project/data \
 && chown -R 50000:0 /opt/project \
 && chmod -R g+rwX /opt/project
USER 50000
WORKDIR /opt/project

# The official way to extend the image: as the airflow user (uid 50000), with Airflow's own version pinned
# (a base image of another Airflow version fails here instead of being silently changed).
COPY --chown=50000:0 requirements.txt constraints.txt ./
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
        -r requirements.txt -c constraints.txt \
 && pip check

COPY --chown=50000:0 dags ./dags
COPY --chown=50000:0 plugins ./plugins
COPY --chown=50000:0 include ./include
COPY --chown=50000:0 scripts/deploy_init.py ./scripts/deploy_init.py

# inspect's C scanner (include/sie4/_scan.c, plain C, loaded with ctypes), built as `make venv`
# builds it, with its source's sha256 compiled in; the compiler leaves in the same layer.
# Debian's gcc of the base image's release: pinning its exact version would break each update.
USER 0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && cc -O2 -shared -fPIC \
        -DSCAN_SOURCE_HASH="\"$(sha256sum include/sie4/_scan.c | cut -d' ' -f1)\"" \
        include/sie4/_scan.c -o include/sie4/_scan.so \
 && chown 50000:0 include/sie4/_scan.so \
 && apt-get purge -y --auto-remove gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
USER 50000

# Bytecode and the SIE bulk reader's numba kernels are compiled once into the image, not in
# every task process (seconds each).
RUN python -m compileall -q dags plugins include scripts \
 && python -c "from include.sie4.bulk import warm_up; warm_up()" \
 && python -c "from include.sie4._cscan import load; assert load(), 'C scanner not loadable'"
