#!/usr/bin/env bash
# Start the LiangHua stack (ops/compose.yaml): create each missing secret in ops/secrets/ as a
# random URL-safe value (kept out of git), then build and start every service. Extra
# arguments go to `docker compose up` (a service name starts only that service).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
chmod 0700 secrets
for name in redis_password mariadb_password mariadb_root_password clickhouse_password \
    minio_password grafana_admin_password; do
    [ -s "secrets/$name" ] || (umask 077 && openssl rand -hex 24 > "secrets/$name")
done
[ -s secrets/minio_user ] || (umask 077 && echo lianghua > secrets/minio_user)
exec docker compose -p lianghua -f compose.yaml up -d --build "$@"
