"""Turning Airflow Connections into endpoints for Yujing's clients.

Secrets live in Airflow Connections (or `AIRFLOW_CONN_*` variables, or a secrets
backend), never in the config file. A Connection is read through a lookup function so
library code and tests can inject their own; inside Airflow it is
`airflow.sdk.BaseHook.get_connection`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class MissingConnection(LookupError):
    """A Connection the config names is not defined anywhere Airflow looks."""


@dataclass(frozen=True)
class Endpoint:
    """Where a service is and how to authenticate; `repr` never shows the secret."""

    conn_id: str
    base_url: str
    token: str | None
    login: str | None
    extra: dict

    def __repr__(self) -> str:
        return f"Endpoint(conn_id={self.conn_id!r}, base_url={self.base_url!r}, token=***)"


ConnectionLookup = Callable[[str], Any]


def airflow_lookup(conn_id: str) -> Any:
    """Airflow's own lookup (task context, `AIRFLOW_CONN_*`, secrets backends)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow raises several types for "not found"
        if "isn't defined" in str(exc) or "not found" in str(exc).lower():
            raise MissingConnection(
                f"Airflow Connection {conn_id!r} is not defined: add it in the UI "
                f"(Admin → Connections) or as AIRFLOW_CONN_{conn_id.upper()}"
            ) from None
        raise


def _extra(conn: Any) -> dict:
    extra = getattr(conn, "extra_dejson", None)
    return dict(extra) if isinstance(extra, dict) else {}


def endpoint(conn_id: str, lookup: ConnectionLookup = airflow_lookup) -> Endpoint:
    """The HTTP endpoint a Connection describes.

    `http://:TOKEN@127.0.0.1:8765` or `https://:TOKEN@api.weibo.com/2`: scheme from the
    connection type, the path from its schema, the token from its password (or the
    `token` extra).
    """
    conn = lookup(conn_id)
    extra = _extra(conn)
    if extra.get("base_url"):
        base_url = str(extra["base_url"]).rstrip("/")
    else:
        scheme = (getattr(conn, "conn_type", None) or "https").lower()
        if scheme not in ("http", "https"):
            scheme = "https"
        host = getattr(conn, "host", None)
        if not host:
            raise MissingConnection(f"Airflow Connection {conn_id!r} has no host")
        port = getattr(conn, "port", None)
        path = (getattr(conn, "schema", None) or "").strip("/")
        base_url = f"{scheme}://{host}{f':{port}' if port else ''}{f'/{path}' if path else ''}"
    token = getattr(conn, "password", None) or extra.get("token") or None
    return Endpoint(
        conn_id=conn_id,
        base_url=base_url,
        token=token,
        login=getattr(conn, "login", None) or None,
        extra=extra,
    )
