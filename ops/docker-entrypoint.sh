#!/bin/sh
# Build the store URLs from the secret files compose mounts under /run/secrets (never from
# the image or the compose file), then run the command: `lh ...`.
set -eu
secret() { cat "/run/secrets/$1"; }
if [ -z "${LH_EVENT_STORE:-}" ]; then
    LH_EVENT_STORE="redis://:$(secret redis_password)@redis:6379/0"
fi
if [ -z "${LH_SQL_URL:-}" ]; then
    LH_SQL_URL="mysql+pymysql://lianghua:$(secret mariadb_password)@mariadb:3306/lianghua"
fi
if [ -z "${LH_CLICKHOUSE_URL:-}" ]; then
    LH_CLICKHOUSE_URL="http://default:$(secret clickhouse_password)@clickhouse:8123/lianghua"
fi
if [ -z "${LH_OBJECT_STORE:-}" ]; then
    LH_OBJECT_STORE="s3://$(secret minio_user):$(secret minio_password)@minio:9000/lianghua"
fi
export LH_EVENT_STORE LH_SQL_URL LH_CLICKHOUSE_URL LH_OBJECT_STORE
exec "$@"
