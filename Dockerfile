# Airflow image with the project's pinned dependencies; the project root is on PYTHONPATH
# so that `include` imports in every Airflow component.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow PYTHONPATH=/opt/project \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/project/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/project/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
WORKDIR /opt/project
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir uv==0.13.8 \
 && uv pip install --system --no-cache --compile-bytecode -r requirements.txt -c constraints.txt
COPY dags ./dags
COPY plugins ./plugins
COPY include ./include
COPY scripts ./scripts
# Bytecode at build time: with PYTHONDONTWRITEBYTECODE every task process would otherwise
# compile Airflow and the project from source (seconds per task).
RUN python -m compileall -q dags plugins include scripts
RUN useradd --create-home --uid 50000 airflow && mkdir -p /opt/airflow /opt/project/data \
 && chown -R airflow /opt/airflow /opt/project/data
USER airflow
# The SIE bulk reader's numba kernels, compiled once into the image (~/.cache/numba), not
# once per container.
RUN python -c "from include.sie4.bulk import warm_up; warm_up()"
