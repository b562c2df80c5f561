# rensei's API and worker image (one image, two commands: `rensei api`, `rensei worker`).
# The build stage installs rensei and its dependencies into a virtualenv; the final stage
# copies only that virtualenv, so no compiler, pip cache or source checkout ships, and it
# runs as an unprivileged user. .dockerignore keeps local state (.data: the master key, the
# admin token, stored credentials), .venv and .git out of the build context altogether.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/rensei
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cli.py settings.py temporal_client.py worker.py ./
COPY activities ./activities
COPY api ./api
COPY interpreter ./interpreter
COPY simulators ./simulators
COPY stack ./stack
COPY store ./store
COPY telemetry ./telemetry
COPY contracts ./contracts
COPY workflows ./workflows
RUN /opt/rensei/bin/pip install .

FROM python:3.11-slim
RUN groupadd --system --gid 10001 rensei \
    && useradd --system --uid 10001 --gid rensei --home-dir /nonexistent --shell /usr/sbin/nologin rensei \
    && mkdir -p /data /definitions \
    && chown rensei:rensei /data
COPY --from=build /opt/rensei /opt/rensei
ENV PATH=/opt/rensei/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RENSEI_DATA_DIR=/data \
    RENSEI_DEFINITIONS_DIR=/definitions \
    RENSEI_API_HOST=0.0.0.0
USER rensei:rensei
WORKDIR /data
EXPOSE 8000 9464
CMD ["rensei", "api"]
