"""Leases in Redis: a key per lease, ``SET NX PX`` with a token, Lua compare-and-set after.

The key is ``<prefix>:lianghua:lease:<name>`` and its value the holder as JSON (token, host,
pid, boot, since); its expiry is Redis's ``PX`` on the server's clock, so the clocks of the
processes do not matter. Renewal, take-over of a dead holder and release compare the whole
value first, in one script, so a process can never extend or drop another's lease. Redis
errors become the persistence errors the recorders raise (an unreachable server is an
``OperationalError``, which interrupts a run like a failed append).
"""

from __future__ import annotations

import json
import uuid

import redis

from infra.eventstore.leases import (
    Holder,
    Lease,
    LeaseHeldError,
    held_here,
    let_go,
    now_us,
    this_process,
)
from infra.eventstore.redis.datastore import translated_errors

_COMPARE_AND_EXPIRE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""


class RedisLeases:
    """``LeaseStore`` over the store's Redis, keys under its prefix."""

    def __init__(self, url: str, key_prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = f"{key_prefix}:lianghua:lease:"
        self._expire = self.client.register_script(_COMPARE_AND_EXPIRE)
        self._set = self.client.register_script(_COMPARE_AND_SET)
        self._delete = self.client.register_script(_COMPARE_AND_DELETE)

    def acquire(self, name: str, ttl_ms: int) -> Lease:
        with translated_errors():
            return self._acquire(name, ttl_ms)

    def _acquire(self, name: str, ttl_ms: int) -> Lease:
        me = this_process()
        now = now_us()
        holder = Holder(me.host, me.pid, me.boot, now, now + ttl_ms * 1_000)
        lease = Lease(name, uuid.uuid4().hex, holder)
        key, value = self.prefix + name, _value(lease)
        if self.client.set(key, value, nx=True, px=ttl_ms):
            held_here(lease.token)
            return lease
        pipe = self.client.pipeline(transaction=True)
        pipe.get(key)
        pipe.pttl(key)
        current, ttl_left = pipe.execute()
        if current is None:  # expired in between: try once more
            if self.client.set(key, value, nx=True, px=ttl_ms):
                held_here(lease.token)
                return lease
            raise LeaseHeldError(name, holder)
        token, found = _holder(current, now_us() + max(int(ttl_left), 0) * 1_000)
        if found.gone(token) and self._set(keys=[key], args=[current, value, ttl_ms]) == 1:
            held_here(lease.token)
            return lease
        raise LeaseHeldError(name, found)

    def renew(self, lease: Lease, ttl_ms: int) -> bool:
        key = self.prefix + lease.name
        with translated_errors():
            return bool(self._expire(keys=[key], args=[_value(lease), ttl_ms]) == 1)

    def holds(self, lease: Lease) -> bool:
        with translated_errors():
            return bool(self.client.get(self.prefix + lease.name) == _value(lease).encode())

    def release(self, lease: Lease) -> None:
        let_go(lease.token)
        with translated_errors():
            self._delete(keys=[self.prefix + lease.name], args=[_value(lease)])

    def close(self) -> None:
        self.client.close()


def _value(lease: Lease) -> str:
    holder = lease.holder
    return json.dumps(
        {
            "token": lease.token,
            "host": holder.host,
            "pid": holder.pid,
            "boot": holder.boot,
            "since_us": holder.since_us,
        },
        sort_keys=True,
    )


def _holder(raw: bytes, expires_us: int) -> tuple[str, Holder]:
    """The token and holder of a lease's value."""
    data = json.loads(raw)
    holder = Holder(data["host"], int(data["pid"]), data["boot"], int(data["since_us"]), expires_us)
    return str(data["token"]), holder
