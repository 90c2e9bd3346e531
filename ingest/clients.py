"""Building a platform client from a base URL and a token (or one connection URI).

    from ingest.clients import make_client, client_from_url
    weibo = make_client("weibo", "https://api.weibo.com/2", token)
    wechat = client_from_url("wechat", "http://:sim-token@127.0.0.1:8765/wechat")

In Airflow the URL and token come from the Connections named in the config
(`yujing.resources.Resources.source_client`); these helpers are for scripts, the
benchmark and notebooks.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from ingest.wechat import WeChatClient
from ingest.weibo import WeiboClient


def make_client(platform: str, base_url: str, token: str, **kwargs) -> WeiboClient | WeChatClient:
    """`kwargs`: session, timeout, sleep, max_retries, conn_id (and `fields` for WeChat)."""
    if platform == "weibo":
        return WeiboClient(base_url, token, **kwargs)
    if platform == "wechat":
        return WeChatClient(base_url, token, **kwargs)
    raise ValueError(f"unknown platform {platform!r} (expected 'weibo' or 'wechat')")


def client_from_url(platform: str, url: str, **kwargs) -> WeiboClient | WeChatClient:
    """A client from `scheme://[login]:TOKEN@host[:port]/path` (the token is the password,
    or the login when there is no password), as in an Airflow connection URI."""
    parts = urlsplit(url)
    token = unquote(parts.password or parts.username or "")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    base = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return make_client(platform, base, token, **kwargs)
