"""Binance's request signing, checked: the API key header, an HMAC-SHA256 signature over the
query string and body as sent, and a timestamp inside ``recvWindow`` of the server's clock."""

from __future__ import annotations

import hashlib
import hmac

from adapters.exchange_local import errors
from adapters.exchange_local.errors import ExchangeRefusalError

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
AHEAD_TOLERANCE_MS = 1_000


def signature(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_signed(
    *,
    api_key_header: str | None,
    query: str,
    body: str,
    params: dict[str, str],
    api_key: str,
    secret: str,
    server_ms: int,
) -> None:
    """Refuse the request as Binance would when its key, signature or timestamp is wrong."""
    if not api_key_header or not hmac.compare_digest(api_key_header, api_key):
        raise ExchangeRefusalError(
            errors.BAD_API_KEY, "Invalid API-key, IP, or permissions for action.", status=401
        )
    sent = params.get("signature")
    if not sent:
        raise ExchangeRefusalError(
            errors.MANDATORY_PARAMETER, "Mandatory parameter 'signature' was not sent."
        )
    signed = "&".join(part for part in (_unsigned(query), _unsigned(body)) if part)
    if not hmac.compare_digest(signature(signed, secret), sent):
        raise ExchangeRefusalError(errors.BAD_SIGNATURE, "Signature for this request is not valid.")
    timestamp = _whole(params, "timestamp", None)
    window = _whole(params, "recvWindow", DEFAULT_RECV_WINDOW_MS)
    if window > MAX_RECV_WINDOW_MS:
        raise ExchangeRefusalError(errors.BAD_PARAMETER, "recvWindow must be at most 60000.")
    if not (server_ms - window <= timestamp < server_ms + AHEAD_TOLERANCE_MS):
        raise ExchangeRefusalError(
            errors.BAD_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )


def _unsigned(text: str) -> str:
    """``text`` without its ``signature`` parameter (the last one, as clients send it)."""
    parts = [part for part in text.split("&") if part and not part.startswith("signature=")]
    return "&".join(parts)


def _whole(params: dict[str, str], name: str, default: int | None) -> int:
    text = params.get(name)
    if text is None:
        if default is None:
            raise ExchangeRefusalError(
                errors.MANDATORY_PARAMETER, f"Mandatory parameter '{name}' was not sent."
            )
        return default
    if not text.isdigit():
        raise ExchangeRefusalError(
            errors.BAD_PARAMETER, f"Parameter '{name}' must be a whole number."
        )
    return int(text)
