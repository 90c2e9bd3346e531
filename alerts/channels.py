"""Delivery channels. `send(notification) -> external id` raises on any failure, so the
notification stays queued and is retried by the next run. A send that reached some
recipients but not all raises `PartialDelivery` (carrying the external id): the stage
marks it sent and records the refusal, since a retry would repeat it to the others.

A notification (built by `alerts.stage.deliver_pending`) is a dict: `dedupe_key`,
`receiver`, `event`, `level`, `incident_id`, `created_at`, `attempt`, `thread` (the external
id of the incident's first message to the same receiver, for threading) and `payload`.
A channel that can tell whether it already delivered a notification implements
`find_sent(notification) -> external id | None`; the stage asks it before resending a row
that was attempted before (a crash or a timeout after the far side accepted it).

| channel  | external id          | already delivered?                          |
|----------|----------------------|---------------------------------------------|
| outbox   | the file path        | the file (named by the dedupe key) exists   |
| slack    | `CHANNEL_ID:ts`      | a message whose metadata carries the key    |
| email    | the Message-ID       | cannot ask SMTP: at-least-once (same Message-ID) |
| webhook  | request id / key     | cannot ask: at-least-once (Idempotency-Key)  |

`channels_for_config(config, lookup, fallback)` builds one channel per receiver from the
config and Airflow Connections. A receiver whose Connection is not defined delivers to the
local outbox instead under `make run` (`fallback`, logged), so a fresh install shows every
alert; anywhere else it is an `UnavailableChannel`: its notifications stay queued until the
Connection exists and the delivery task fails naming it (a mistyped `conn_id` in production
used to page nobody while every run stayed green). Secrets stay inside
the clients: no channel's repr, log line or error message contains a token.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import re
import smtplib
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import SimpleNamespace
from typing import Protocol
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit

from alerts import render
from yujing.atomic import atomic_write
from yujing.connections import MissingConnection, endpoint

log = logging.getLogger(__name__)

CHART_EVENTS = ("open", "escalate", "joined", "digest")  # reminders/resolutions skip the chart


class Channel(Protocol):
    name: str

    def send(self, notification: dict) -> str: ...


class DeliveryError(RuntimeError):
    """A channel refused or failed a notification (retried next run)."""


class PartialDelivery(DeliveryError):
    """Delivered to some recipients, refused for others. Not retried: the accepted
    recipients have it already; the message (addresses, no secrets) goes to `last_error`
    and the log so ops can reach the refused ones."""

    def __init__(self, message: str, external_id: str):
        super().__init__(message)
        self.external_id = external_id


def chart_png(note: dict) -> bytes | None:
    """The chart for a notification, or None (no data, or rendering failed: a chart must
    never stop an alert)."""
    p = note["payload"]
    try:
        if p.get("series"):
            from alerts.chart import spread_chart

            title = f"{p.get('brand_name', '')} · {p.get('platform', '')} {p.get('post_id', '')}"
            return spread_chart(
                p["series"],
                p.get("viral_line", 1000),
                title,
                observed=p.get("observed_curve"),
                posted_at=p.get("posted_at"),
                platform=p.get("platform"),
            )
        if p.get("bars"):
            from alerts.chart import bar_chart

            bars = p["bars"]
            return bar_chart(
                bars["labels"], bars["values"], bars.get("title", ""), bars.get("ascii_labels")
            )
    except Exception:  # noqa: BLE001
        log.exception("chart rendering failed; sending without it")
    return None


_chart = chart_png  # the name earlier callers used


# --- outbox -----------------------------------------------------------------------------


def outbox_name(dedupe_key: str) -> str:
    """A file name for a dedupe key: reversible (percent-encoded), safe on any OS."""
    name = quote(dedupe_key, safe="-_.@#")
    if len(name) > 200:
        name = name[:150] + "~" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return name


class OutboxChannel:
    """One JSON file per notification under the outbox directory, named by its dedupe
    key (so it is written exactly once), written atomically, plus a line on the console.

    Standing in for a Slack, email or webhook receiver without its Connection
    (`stands_in_for`), a file also holds what that channel would have sent: the Slack
    blocks (`slack`), the email's HTML page beside it (`email_html`, the chart linked as a
    file) or the webhook's body (`webhook_body`), so a rehearsal shows the real message."""

    name = "outbox"

    def __init__(
        self, directory: Path | None = None, echo: bool = True, stands_in_for: str | None = None
    ):
        self._directory = Path(directory) if directory else None
        self.echo = echo
        self.stands_in_for = stands_in_for  # slack | email | json | dingtalk | feishu | wecom

    def __repr__(self) -> str:
        return f"OutboxChannel({self.directory})"

    @property
    def directory(self) -> Path:
        from yujing.paths import outbox_dir

        path = self._directory or outbox_dir()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path_for(self, dedupe_key: str) -> Path:
        return self.directory / f"{outbox_name(dedupe_key)}.json"

    def find_sent(self, note: dict) -> str | None:
        path = self.path_for(note["dedupe_key"])
        return str(path) if path.exists() else None

    def send(self, note: dict) -> str:
        path = self.path_for(note["dedupe_key"])
        if path.exists():  # delivered before (a crash before the log was updated)
            return str(path)
        p = note["payload"]
        record = {
            **p,
            "dedupe_key": note["dedupe_key"],
            "receiver": note.get("receiver"),
            # what tells this alert from another's (category, excerpt, incident id), as an
            # email subject does: the console line of `make run` is this summary
            "summary": render.printable(render.email_subject(p)),
            "message": render.plain_text(p),
        }
        chart = chart_png(note) if note.get("event", p.get("event")) in CHART_EVENTS else None
        if chart:
            png = path.with_suffix(".png")
            atomic_write(png, chart)
            record["chart"] = png.name
        self._add_rendering(record, note, path)
        atomic_write(
            path, json.dumps(record, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        )
        if self.echo:
            print(f"[yujing] ALERT {record['summary']} → {path}", flush=True)
        return str(path)

    def _add_rendering(self, record: dict, note: dict, path: Path) -> None:
        """What the channel this outbox stands in for would have sent (see the class); a
        renderer's failure is noted in the record, which is written all the same."""
        try:
            self._render(record, note, path)
        except Exception as exc:  # noqa: BLE001 - the alert itself must still land
            log.exception("outbox: cannot render %s for %s", self.stands_in_for, path.name)
            record["rendering_error"] = f"{type(exc).__name__}: {exc}"

    def _render(self, record: dict, note: dict, path: Path) -> None:
        p = note["payload"]
        if self.stands_in_for == "slack":
            text, blocks = render.slack_blocks(p)
            record["slack"] = {"text": text, "blocks": blocks}
        elif self.stands_in_for == "email":
            page = path.with_suffix(".html")
            atomic_write(page, render.email_html(p, None, chart_file=record.get("chart")).encode())
            record["email_html"] = page.name
        elif self.stands_in_for == "json":
            record["webhook_body"] = render.webhook_json(note)
        elif self.stands_in_for in render.ROBOT_LIMITS:
            record["webhook_body"] = render.robot_message(self.stands_in_for, p)


# --- Slack ------------------------------------------------------------------------------

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


class SlackChannel:
    """Slack Web API through slack-sdk.

    - A Block Kit message per notification; the incident's later events go into the
      thread of its first message, re-broadcast to the channel (`reply_broadcast`) when
      the level rises and for reminders; the first message is updated in place
      (`chat.update`) to show the current level or that it resolved.
    - The spread chart is uploaded into the thread (`files_upload_v2`).
    - Every message carries the dedupe key in its metadata, so after a crash `find_sent`
      finds it in the channel history instead of posting it again.
    - 429s are retried after Retry-After by slack-sdk's `RateLimitErrorRetryHandler`;
      when retries run out the notification fails and the next run retries it.
    """

    name = "slack"

    def __init__(self, client, channel: str, upload_charts: bool = True):
        self.client = client
        self.channel = channel
        self.upload_charts = upload_charts
        self._channel_id: str | None = channel if _CHANNEL_ID.match(channel) else None

    def __repr__(self) -> str:
        return f"SlackChannel({self.channel!r})"

    @classmethod
    def from_token(
        cls,
        token: str,
        channel: str,
        base_url: str | None = None,
        *,
        timeout: float = 15,
        max_rate_limit_retries: int = 2,
        upload_charts: bool = True,
    ) -> SlackChannel:
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        kwargs = {"token": token, "timeout": int(timeout)}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/") + "/"
        client = WebClient(**kwargs)
        client.retry_handlers.append(
            RateLimitErrorRetryHandler(max_retry_count=max_rate_limit_retries)
        )
        return cls(client, channel, upload_charts=upload_charts)

    # the channel's id (conversations.history needs it; chat.postMessage takes a name)
    def channel_id(self) -> str | None:
        if self._channel_id:
            return self._channel_id
        wanted = self.channel.lstrip("#")
        cursor = None
        for _ in range(20):
            response = self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for ch in response.get("channels", []):
                if ch.get("name") == wanted:
                    self._channel_id = ch["id"]
                    return self._channel_id
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    @staticmethod
    def _metadata(note: dict) -> dict:
        return {
            "event_type": "yujing_alert",
            "event_payload": {
                "dedupe_key": note["dedupe_key"],
                "incident_id": note.get("incident_id") or "",
                "event": note.get("event") or "",
                "level": note.get("level") or "",
            },
        }

    FIND_PAGES = 25  # of 200 messages: a busy channel's day, before sending again

    def find_sent(self, note: dict) -> str | None:
        """The message an earlier attempt posted (its answer lost), found by the metadata
        it carries, or None. Reads every page since the notification was queued (up to
        `FIND_PAGES`): one page missed the message in a busy channel once an alert held
        overnight was retried, and it was posted twice."""
        thread = note.get("thread")
        if thread and ":" in thread:
            channel_id, ts = thread.split(":", 1)
            read = functools.partial(self.client.conversations_replies, channel=channel_id, ts=ts)
        else:
            channel_id = self.channel_id()
            if channel_id is None:
                return None
            created = dt.datetime.fromisoformat(note["created_at"]) - dt.timedelta(minutes=5)
            read = functools.partial(
                self.client.conversations_history,
                channel=channel_id,
                oldest=f"{created.timestamp():.6f}",
            )
        cursor = None
        for _ in range(self.FIND_PAGES):
            page = read(
                include_all_metadata=True, limit=200, **({"cursor": cursor} if cursor else {})
            )
            for message in page.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("dedupe_key") == note["dedupe_key"]:
                    return f"{channel_id}:{message['ts']}"
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        raise DeliveryError(  # cannot tell: the caller sends (at least once), and says so
            f"{self.FIND_PAGES * 200} messages read without finding {note['dedupe_key']}"
        )

    def send(self, note: dict) -> str:
        p = note["payload"]
        event = note.get("event") or p.get("event")
        text, blocks = render.slack_blocks(p)
        kwargs = {
            "channel": self.channel,
            "text": text,
            "blocks": blocks,
            "metadata": self._metadata(note),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        thread = note.get("thread")
        root_ts = None
        if thread and ":" in thread:
            channel_id, root_ts = thread.split(":", 1)
            kwargs.update(
                channel=channel_id,
                thread_ts=root_ts,
                reply_broadcast=event in ("escalate", "joined", "remind", "noresponse"),
            )
        response = self.client.chat_postMessage(**kwargs)
        channel_id, ts = response["channel"], response["ts"]
        if not thread:
            self._channel_id = self._channel_id or channel_id
        if root_ts and event in ("escalate", "resolve"):
            self._update_root(channel_id, root_ts, p)
        if self.upload_charts and event in CHART_EVENTS:
            chart = chart_png(note)
            if chart:
                try:
                    self.client.files_upload_v2(
                        channel=channel_id,
                        file=chart,
                        filename="spread.png",
                        title="传播趋势 spread",
                        thread_ts=root_ts or ts,
                    )
                except Exception as exc:  # noqa: BLE001 - the message is out; log the chart
                    log.warning("chart upload to Slack failed (message %s sent): %s", ts, exc)
        return f"{channel_id}:{ts}"

    def _update_root(self, channel_id: str, ts: str, payload: dict) -> None:
        text, blocks = render.slack_blocks(payload, current=True)
        try:
            self.client.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
        except Exception as exc:  # noqa: BLE001 - cosmetic: the thread reply is out
            log.warning("could not update the incident's first Slack message: %s", exc)


# --- email ------------------------------------------------------------------------------


def _smtp_text(reply) -> str:
    """An SMTP reply text (bytes from smtplib) as one short printable line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())[:200]


class EmailChannel:
    """SMTP (smtplib): multipart/alternative text + HTML, the chart inline in a
    multipart/related HTML part (`cid:`). The Message-ID is derived from the dedupe key, so
    a resend after a crash carries the same id; later events of an incident reply to its
    first message (In-Reply-To/References) so mail clients thread them."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        to: list[str],
        sender: str,
        login: str | None = None,
        password: str | None = None,
        starttls: bool | None = None,
        ssl: bool = False,
        timeout: float = 30,
        allow_plaintext_auth: bool = False,
    ):
        """`starttls`: True requires it, False never tries it, None (the default) uses it
        when the server offers it. The password is never sent over an unencrypted
        connection unless `allow_plaintext_auth`."""
        self.host, self.port, self.to, self.sender = host, int(port), list(to), sender
        self.login, self._password = login, password
        self.starttls, self.ssl, self.timeout = starttls, ssl, timeout
        self.allow_plaintext_auth = allow_plaintext_auth

    def __repr__(self) -> str:
        return f"EmailChannel({self.host}:{self.port} → {self.to})"

    def message_id(self, dedupe_key: str) -> str:
        domain = self.sender.rsplit("@", 1)[-1].strip("> ") if "@" in self.sender else "yujing"
        slug = re.sub(r"[^A-Za-z0-9.\-]", ".", dedupe_key)[:60].strip(".")
        return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:20]}.{slug}@{domain}>"

    def build(self, note: dict) -> EmailMessage:
        p = note["payload"]
        message = EmailMessage()
        message["Subject"] = render.email_subject(p)
        message["From"] = self.sender
        message["To"] = ", ".join(self.to)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = self.message_id(note["dedupe_key"])
        message["X-Yujing-Key"] = re.sub(r"[\r\n]", " ", note["dedupe_key"])
        thread = note.get("thread")
        if thread and thread.startswith("<"):
            message["In-Reply-To"] = thread
            message["References"] = thread
        message.set_content(render.plain_text(p))
        chart = chart_png(note) if note.get("event", p.get("event")) in CHART_EVENTS else None
        cid = make_msgid(domain="yujing.chart") if chart else None
        message.add_alternative(render.email_html(p, cid[1:-1] if cid else None), subtype="html")
        if chart:
            message.get_payload()[1].add_related(
                chart, "image", "png", cid=cid, filename="spread.png", disposition="inline"
            )
        return message

    def send(self, note: dict) -> str:
        message = self.build(note)
        smtp_cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with smtp_cls(self.host, self.port, timeout=self.timeout) as smtp:
            encrypted = self.ssl
            if not self.ssl and self.starttls is not False:
                smtp.ehlo()
                if self.starttls or smtp.has_extn("starttls"):
                    smtp.starttls()
                    smtp.ehlo()
                    encrypted = True
            if self.login:
                if not encrypted and not self.allow_plaintext_auth:
                    raise DeliveryError(
                        f"not sending the SMTP password in clear text: {self.host}:{self.port} "
                        "offers neither SSL nor STARTTLS (use port 465 or 587, or set the "
                        "connection extra allow_plaintext_auth)"
                    )
                smtp.login(self.login, self._password or "")
            refused = smtp.send_message(message)  # raises only if every recipient is refused
        if refused:
            detail = ", ".join(
                f"{address} ({code} {_smtp_text(reply)})"
                for address, (code, reply) in sorted(refused.items())
            )
            raise PartialDelivery(f"recipients refused: {detail}", message["Message-ID"])
        return message["Message-ID"]


# --- webhooks ---------------------------------------------------------------------------


# query parameters that carry a robot's credentials (DingTalk access_token, WeCom key) or
# a request signature (DingTalk timestamp + sign), masked in urllib3's URL logs
URL_SECRET_PARAMS = ("access_token", "key", "token", "sign", "secret")


def _hide_url_secrets(url: str) -> None:
    """Keep a webhook URL's credentials out of urllib3's DEBUG lines (which print every
    request's path and query; Airflow writes them to the task log at DEBUG): the values
    of `URL_SECRET_PARAMS`, and the token a Feishu or generic hook carries as the last
    segment of its path (`/open-apis/bot/v2/hook/<token>`), as `ingest.http` does for
    the platform clients."""
    from ingest.http import hide_in_url_logs

    parts = urlsplit(url)
    hide_in_url_logs(None, URL_SECRET_PARAMS)
    for _, value in parse_qsl(parts.query, keep_blank_values=True):
        hide_in_url_logs(value)  # values too short to be a secret are ignored there
    segments = [x for x in parts.path.split("/") if x]
    if len(segments) >= 2 and segments[-2] == "hook":
        hide_in_url_logs(unquote(segments[-1]))


class WebhookChannel:
    """A generic JSON webhook, or a Chinese team-chat group robot.

    - `json`: POST `render.webhook_json` with `Idempotency-Key: <dedupe key>` (and a bearer
      token when the Connection has one).
    - `dingtalk`: markdown message (20,000-byte body limit); with a signing secret
      ("加签") the URL gets `timestamp` and `sign`.
    - `wecom` (企业微信): markdown message (4,096-byte content limit).
    - `feishu` (飞书): `post` rich-text message (20 KB body); with a signing secret the
      body gets `timestamp` and `sign`.
    Robots answer HTTP 200 with an error code in the body; any non-zero code (rate limit,
    keyword check, size) fails the send so it is retried.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        kind: str = "json",
        *,
        secret: str | None = None,
        token: str | None = None,
        session=None,
        timeout: float = 15,
    ):
        import requests

        self.url, self.kind = url, kind
        self._secret, self._token = secret, token
        self.session = session or requests.Session()
        self.timeout = timeout
        parts = urlsplit(url)  # never the netloc: it may hold user:password@
        self._where = (parts.hostname or "?") + (f":{parts.port}" if parts.port else "")
        _hide_url_secrets(url)

    def __repr__(self) -> str:  # the URL may carry a robot token
        return f"WebhookChannel(kind={self.kind!r}, host={self._where!r})"

    def _signed(self, body: dict) -> tuple[str, dict]:
        url = self.url
        if not self._secret:
            return url, body
        if self.kind == "dingtalk":
            stamp = str(int(time.time() * 1000))
            digest = hmac.new(
                self._secret.encode(), f"{stamp}\n{self._secret}".encode(), hashlib.sha256
            ).digest()
            sign = quote_plus(base64.b64encode(digest).decode())
            url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={sign}"
        elif self.kind == "feishu":
            stamp = str(int(time.time()))
            digest = hmac.new(f"{stamp}\n{self._secret}".encode(), b"", hashlib.sha256).digest()
            body = {"timestamp": stamp, "sign": base64.b64encode(digest).decode(), **body}
        return url, body

    def send(self, note: dict) -> str:
        import requests

        p = note["payload"]
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.kind == "json":
            body = render.webhook_json(note)
            headers["Idempotency-Key"] = note["dedupe_key"]
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
        else:
            body = render.robot_message(self.kind, p)
        url, body = self._signed(body)
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
        try:
            response = self.session.post(
                url, data=data.encode("utf-8"), headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:  # its message would show the URL (token)
            raise DeliveryError(f"{type(exc).__name__} posting to {self._where}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"{self._where} answered HTTP {response.status_code}")
        request_id = response.headers.get("X-Request-Id") or response.headers.get("Request-Id")
        if self.kind != "json":
            try:
                answer = response.json()
            except ValueError:
                raise DeliveryError(f"{self._where} answered non-JSON") from None
            code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
            if code not in (0, "0", None):
                message = answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage")
                raise DeliveryError(f"{self.kind} robot error {code}: {message}")
            request_id = request_id or (answer.get("data") or {}).get("message_id")
        return request_id or f"{self.kind}:{uuid.uuid4().hex}"


# --- from the config and Airflow Connections --------------------------------------------


def parse_connection_uri(uri: str) -> SimpleNamespace:
    """An Airflow-style Connection from its URI (as in `AIRFLOW_CONN_<ID>`), without
    importing Airflow: `slack://:xoxb-TOKEN@/?base_url=http%3A%2F%2F127.0.0.1%3A8099%2Fapi%2F`,
    `smtp://user:pass@smtp.example.com:587?from_email=yujing%40example.com`,
    `https://oapi.dingtalk.com/robot/send?access_token=…&secret=SEC…`.
    Query parameters become `extra_dejson` (`__extra__` may hold a JSON object)."""
    parts = urlsplit(uri)
    extra: dict = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k == "__extra__":
            extra.update(json.loads(v))
        else:
            extra[k] = v
    return SimpleNamespace(
        conn_type=parts.scheme.replace("-", "_"),
        host=unquote(parts.hostname) if parts.hostname else None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=unquote(parts.path.lstrip("/")) or None,
        extra_dejson=extra,
    )


def lookup_from_uris(uris: dict[str, str]):
    """A Connection lookup over {conn_id: URI} (tests, scripts); missing ids raise
    MissingConnection like Airflow's."""

    def lookup(conn_id: str):
        if conn_id not in uris:
            raise MissingConnection(f"Connection {conn_id!r} is not defined")
        return parse_connection_uri(uris[conn_id])

    return lookup


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def channel_for_receiver(receiver, lookup):
    """The channel for one config receiver. Raises MissingConnection when its
    Connection is missing or incomplete."""
    if receiver.outbox is not None:
        return OutboxChannel(receiver.outbox.dir)  # None: .yujing/outbox/
    if receiver.slack is not None:
        conn = lookup(receiver.slack.conn_id)
        extra = getattr(conn, "extra_dejson", None) or {}
        token = getattr(conn, "password", None) or extra.get("token")
        if not token:
            raise MissingConnection(
                f"Connection {receiver.slack.conn_id!r} has no Slack token (its password)"
            )
        return SlackChannel.from_token(
            token,
            receiver.slack.channel,
            extra.get("base_url"),
            timeout=float(extra.get("timeout") or 15),
        )
    if receiver.email is not None:
        conn = lookup(receiver.email.conn_id)
        extra = getattr(conn, "extra_dejson", None) or {}
        if not getattr(conn, "host", None):
            raise MissingConnection(f"Connection {receiver.email.conn_id!r} has no host")
        port = int(getattr(conn, "port", None) or 25)
        # Airflow's SMTP connection: SSL unless disable_ssl, STARTTLS unless disable_tls.
        # Without those extras, go by the port: 465 SSL, 587 STARTTLS, else STARTTLS when
        # the server offers it; a password never goes out in clear text unless
        # allow_plaintext_auth says so.
        ssl = not _truthy(extra["disable_ssl"]) if "disable_ssl" in extra else port == 465
        if ssl:
            starttls = False
        elif "disable_tls" in extra:
            starttls = not _truthy(extra["disable_tls"])
        else:
            starttls = True if port == 587 else None
        return EmailChannel(
            host=conn.host,
            port=port,
            to=receiver.email.to,
            sender=extra.get("from_email") or getattr(conn, "login", None) or "yujing@localhost",
            login=getattr(conn, "login", None) or None,
            password=getattr(conn, "password", None) or None,
            starttls=starttls,
            ssl=ssl,
            timeout=float(extra.get("timeout") or 30),
            allow_plaintext_auth=_truthy(extra.get("allow_plaintext_auth", False)),
        )
    ep = endpoint(receiver.webhook.conn_id, lookup)
    kind = receiver.webhook.kind
    params = {k: ep.extra[k] for k in ("access_token", "key") if ep.extra.get(k)}
    url = ep.extra.get("url") or ep.base_url
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    secret = ep.extra.get("secret") or (ep.token if kind in ("dingtalk", "feishu") else None)
    return WebhookChannel(
        url,
        kind,
        secret=secret,
        token=ep.token if kind == "json" else None,
        timeout=float(ep.extra.get("timeout") or 15),
    )


class UnavailableChannel:
    """A receiver whose Connection is missing or incomplete: every send fails with the
    reason, so its notifications stay queued and go out once the Connection exists."""

    name = "unavailable"

    def __init__(self, receiver: str, reason: str):
        self.receiver = receiver
        self.reason = reason

    def __repr__(self) -> str:
        return f"UnavailableChannel({self.receiver!r})"

    def send(self, note: dict):
        raise MissingConnection(f"receiver {self.receiver!r}: {self.reason}")


def unavailable(channels: dict) -> list[str]:
    """'receiver: reason' for each receiver that cannot deliver (no Connection)."""
    return [
        f"{name}: {c.reason}" for name, c in channels.items() if isinstance(c, UnavailableChannel)
    ]


def receiver_kind(receiver) -> str:
    """outbox, slack, email, or the webhook's kind (json, dingtalk, feishu, wecom)."""
    if receiver.outbox is not None:
        return "outbox"
    if receiver.slack is not None:
        return "slack"
    if receiver.email is not None:
        return "email"
    return receiver.webhook.kind


def channels_for_config(config, lookup, fallback: bool = False) -> dict:
    """{receiver name: channel} from the config and Connections (`lookup(conn_id)`, e.g.
    `yujing.connections.airflow_lookup`). A receiver without its Connection delivers to
    the local outbox with `fallback` (`make run`: nothing is lost on a fresh install),
    else it is an `UnavailableChannel` (its notifications wait, the task fails)."""
    channels = {}
    for receiver in config.receivers:
        try:
            channels[receiver.name] = channel_for_receiver(receiver, lookup)
        except MissingConnection as exc:
            if fallback:
                log.warning(
                    "receiver %s: %s; delivering to the local outbox instead", receiver.name, exc
                )
                channels[receiver.name] = OutboxChannel(stands_in_for=receiver_kind(receiver))
            else:
                log.error(
                    "receiver %s: %s; its notifications stay queued until the Connection exists",
                    receiver.name,
                    exc,
                )
                channels[receiver.name] = UnavailableChannel(receiver.name, str(exc))
    return channels
