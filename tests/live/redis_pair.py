"""A Redis primary and replica of our own (AOF with ``appendfsync always``, free ports, temp
dirs) and the failover the live-trading runbook describes: SIGKILL the primary, promote the
replica (``REPLICAOF NO ONE``), bring the old primary back as the new one's replica."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.services import free_port

LINK_TRIES = 1500
"""Polls (20 ms apart) for a replica to come online: a full resync of a soak's log on a
busy machine takes a few seconds."""


def start_redis(directory: Path, port: int, primary: int | None = None) -> subprocess.Popen[bytes]:
    """A redis-server with AOF in ``directory`` (its data kept there across restarts), the
    replica of ``primary`` when given; returns once it answers."""
    directory.mkdir(exist_ok=True)
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    command += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    command += ["--repl-diskless-sync-delay", "0"]
    if primary is not None:
        command += ["--replicaof", "127.0.0.1", str(primary)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return server
        except (redis.ConnectionError, redis.exceptions.BusyLoadingError):
            time.sleep(0.02)
    server.kill()
    raise RuntimeError(f"redis-server on port {port} did not start")


def wait_linked(primary_port: int) -> None:
    """Until the primary on ``primary_port`` has one replica online."""
    client = redis.Redis(port=primary_port, decode_responses=True)
    for _ in range(LINK_TRIES):
        info = client.info("replication")
        if info.get("connected_slaves") == 1 and info.get("slave0", {}).get("state") == "online":
            return
        time.sleep(0.02)
    raise RuntimeError("the replica did not come online")


class RedisPair:
    """Two servers, ``primary`` and ``replica`` (indexes into ``servers``); ``fail_over``
    swaps their roles the way an operator would after losing the primary's machine."""

    def __init__(self, directory: Path) -> None:
        self.directories = [directory / "redis-a", directory / "redis-b"]
        self.ports = [free_port(), free_port()]
        self.servers = [start_redis(self.directories[0], self.ports[0])]
        self.servers.append(start_redis(self.directories[1], self.ports[1], self.ports[0]))
        self.primary = 0
        wait_linked(self.ports[0])

    @property
    def replica(self) -> int:
        return 1 - self.primary

    @property
    def url(self) -> str:
        """The store URL of the current primary."""
        return f"redis://127.0.0.1:{self.ports[self.primary]}/0"

    @property
    def replica_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[self.replica]}/0"

    def kill(self, index: int) -> None:
        """SIGKILL a server: no shutdown hook, no final fsync."""
        self.servers[index].send_signal(signal.SIGKILL)
        self.servers[index].wait()

    def promote(self) -> None:
        """The replica becomes the primary (the old primary is down)."""
        client = redis.Redis(port=self.ports[self.replica])
        client.execute_command("REPLICAOF", "NO", "ONE")  # type: ignore[no-untyped-call]
        self.primary = self.replica

    def rejoin(self) -> None:
        """Restart the server that is down as the replica of the current primary (it loads
        its own AOF, then resyncs in full, dropping whatever the primary never had)."""
        down = self.replica
        self.servers[down] = start_redis(
            self.directories[down], self.ports[down], self.ports[self.primary]
        )
        wait_linked(self.ports[self.primary])

    def fail_over(self) -> None:
        """Kill the primary, promote the replica, bring the old primary back as replica."""
        self.kill(self.primary)
        self.promote()
        self.rejoin()

    def close(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.kill()
                server.wait()
