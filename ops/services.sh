#!/usr/bin/env bash
# Start the local services the tests need if they are down: Redis (no persistence, the
# machine's default) and MariaDB. The tests start their own AOF redis-server and S3 server.
set -euo pipefail

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
mariadb_up() { mysqladmin -h 127.0.0.1 -P 3306 -uroot status >/dev/null 2>&1; }

wait_until() {
  local check=$1 name=$2
  for _ in $(seq 1 60); do "$check" && return 0; sleep 0.5; done
  echo "services.sh: $name did not come up" >&2
  return 1
}

ensure() {
  if ! redis_up; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_until redis_up Redis
  fi
  if ! mariadb_up; then
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_until mariadb_up MariaDB
  fi
  mysql -h 127.0.0.1 -P 3306 -uroot -e "CREATE DATABASE IF NOT EXISTS test" 
}

"${1:-ensure}"
