# newsbot in a container: docs/deploy.md.
#
#   docker build -t newsbot .
#   docker run -d --name newsbot --init --restart=on-failure \
#     --env-file /etc/newsbot/newsbot.env -v newsbot-data:/data newsbot
#
# The database (and weekly backups, with NEWSBOT_BACKUP_DIR=/data/backups) live in
# the /data volume; the process runs as the unprivileged user newsbot.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system newsbot \
    && useradd --system --gid newsbot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin newsbot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install .
COPY feeds.toml /app/feeds.toml

RUN install -d -o newsbot -g newsbot -m 0750 /data
VOLUME ["/data"]
ENV NEWSBOT_DB=/data/newsbot.db \
    NEWSBOT_FEEDS=/app/feeds.toml
WORKDIR /data
USER newsbot
# Webhook mode: set NEWSBOT_WEBHOOK_LISTEN=0.0.0.0:8080 and publish the port.
# Metrics and probes: NEWSBOT_METRICS_LISTEN=0.0.0.0:9464 (keep it off the internet).
EXPOSE 8080 9464
CMD ["newsbot", "run"]
