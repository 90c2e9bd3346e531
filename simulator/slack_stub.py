"""A local Slack Web API stub: the real slack-sdk talks to it over HTTP on loopback.

    stub = SlackStub().start()
    client = WebClient(token=stub.token, base_url=stub.base_url)
    ...
    stub.messages          # every chat.postMessage, in order (thread replies too)
    stub.stop()

Implements what Yujing uses, with Slack's shapes: `auth.test`, `chat.postMessage`
(threads, `reply_broadcast`, `metadata`), `chat.update`, `conversations.list`,
`conversations.history` / `conversations.replies` (with `include_all_metadata`,
`oldest`), and the `files_upload_v2` flow (`files.getUploadURLExternal`, a POST of the
bytes to the returned upload URL, `files.completeUploadExternal`). It checks the bearer
token (`invalid_auth` otherwise), accepts form-encoded and JSON bodies, and fails on
demand: `rate_limit(n, retry_after)` answers the next n API calls with HTTP 429 and
`Retry-After`; `fail_next` answers 500; `drop_after_post` processes the next
chat.postMessage and then answers 500, as when a response is lost after Slack accepted
the message.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class SlackStub:
    def __init__(self, token: str = "xoxb-test-token", host: str = "127.0.0.1", port: int = 0):
        self.token = token
        self.messages: list[dict] = []  # chat.postMessage, in order
        self.updates: list[dict] = []  # chat.update
        self.uploads: list[dict] = []  # completed file uploads
        self.calls: list[str] = []  # every API method called (429s included)
        self.rate_limited: int = 0  # how many calls were answered 429
        self.rate_limit_next = 0
        self.retry_after = 1
        self.fail_next = 0
        self.drop_after_post = 0
        self.channels: dict[str, str] = {}  # name → id
        self._files: dict[str, bytes] = {}
        self._pending_files: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._clock = 0.0

    # --- control -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> SlackStub:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def rate_limit(self, calls: int = 1, retry_after: int = 1) -> None:
        """Answer the next `calls` API calls with 429 and `Retry-After: retry_after`."""
        with self._lock:
            self.rate_limit_next = calls
            self.retry_after = retry_after

    def add_channel(self, name: str) -> str:
        """Create (or look up) a channel by name; returns its id."""
        name = name.lstrip("#")
        with self._lock:
            return self._channel_id(name)

    def top_level(self, channel: str | None = None) -> list[dict]:
        """Messages that appear in the channel itself (not only in a thread)."""
        return [
            m
            for m in self.messages
            if (channel is None or m["channel"] == channel)
            and (not m["thread_ts"] or m["reply_broadcast"])
        ]

    # --- internals (called with the lock held) --------------------------------------
    def _channel_id(self, name_or_id: str) -> str:
        if name_or_id in self.channels.values():
            return name_or_id
        name = name_or_id.lstrip("#")
        if name not in self.channels:
            self.channels[name] = "C" + hashlib.sha1(name.encode()).hexdigest()[:9].upper()
        return self.channels[name]

    def _ts(self) -> str:
        now = max(time.time(), self._clock + 0.000001)  # strictly increasing, like Slack's
        self._clock = now
        return f"{now:.6f}"


def _truthy(value) -> bool:
    return value in (True, 1) or str(value).lower() in ("true", "1")


def _handler(stub: SlackStub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _reply(self, status: int, body: dict, headers: dict | None = None):
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)

        def _args(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlparse(self.path)
            args: dict = {k: v[-1] for k, v in parse_qs(url.query).items()}
            ctype = self.headers.get("Content-Type", "")
            if url.path.startswith("/upload/"):
                args["_raw"] = raw
            elif "json" in ctype and raw:
                args.update(json.loads(raw))
            elif "form" in ctype and raw:
                args.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()})
            for key in ("blocks", "files", "metadata"):
                if isinstance(args.get(key), str):
                    try:
                        args[key] = json.loads(args[key])
                    except ValueError:
                        pass
            return args

        def do_POST(self):
            path = urlparse(self.path).path
            args = self._args()
            if path.startswith("/upload/"):
                file_id = path.rsplit("/", 1)[-1]
                with stub._lock:
                    if file_id not in stub._pending_files:
                        return self._reply(404, {"ok": False, "error": "unknown_upload"})
                    stub._files[file_id] = args.get("_raw", b"")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")
                return None
            method = path.rsplit("/", 1)[-1]
            with stub._lock:
                stub.calls.append(method)
                if stub.rate_limit_next > 0:
                    stub.rate_limit_next -= 1
                    stub.rate_limited += 1
                    return self._reply(
                        429,
                        {"ok": False, "error": "ratelimited"},
                        {"Retry-After": stub.retry_after},
                    )
                if stub.fail_next > 0:
                    stub.fail_next -= 1
                    return self._reply(500, {"ok": False, "error": "internal_error"})
            if self.headers.get("Authorization") != f"Bearer {stub.token}":
                return self._reply(200, {"ok": False, "error": "invalid_auth"})
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return self._reply(200, {"ok": False, "error": "unknown_method"})
            with stub._lock:
                status, body = handler(args)
            return self._reply(status, body)

        do_GET = do_POST

        # --- methods (lock held) ---------------------------------------------------
        def _auth_test(self, args):
            return 200, {"ok": True, "url": "https://yujing.slack.test/", "team": "yujing",
                         "user": "yujing-bot", "team_id": "T0YUJING", "user_id": "U0YUJING",
                         "bot_id": "B0YUJING"}  # fmt: skip

        def _chat_postMessage(self, args):
            channel = args.get("channel") or ""
            if not channel:
                return 200, {"ok": False, "error": "channel_not_found"}
            if not (args.get("text") or args.get("blocks")):
                return 200, {"ok": False, "error": "no_text"}
            channel_id = stub._channel_id(channel)
            thread_ts = args.get("thread_ts")
            if thread_ts and not any(
                m["ts"] == thread_ts and m["channel"] == channel_id for m in stub.messages
            ):
                return 200, {"ok": False, "error": "thread_not_found"}
            message = {
                "type": "message",
                "channel": channel_id,
                "channel_name": channel,
                "ts": stub._ts(),
                "text": args.get("text"),
                "blocks": args.get("blocks"),
                "thread_ts": thread_ts,
                "reply_broadcast": _truthy(args.get("reply_broadcast")),
                "metadata": args.get("metadata"),
                "user": "U0YUJING",
                "bot_id": "B0YUJING",
            }
            stub.messages.append(message)
            if stub.drop_after_post > 0:
                stub.drop_after_post -= 1
                return 500, {"ok": False, "error": "internal_error"}
            return 200, {"ok": True, "channel": channel_id, "ts": message["ts"],
                         "message": message}  # fmt: skip

        def _chat_update(self, args):
            channel_id = stub._channel_id(args.get("channel") or "")
            for m in stub.messages:
                if m["channel"] == channel_id and m["ts"] == args.get("ts"):
                    m["text"] = args.get("text", m["text"])
                    m["blocks"] = args.get("blocks", m["blocks"])
                    stub.updates.append(
                        {
                            "channel": channel_id,
                            "ts": m["ts"],
                            "text": m["text"],
                            "blocks": m["blocks"],
                        }  # fmt: skip
                    )
                    return 200, {"ok": True, "channel": channel_id, "ts": m["ts"],
                                 "text": m["text"]}  # fmt: skip
            return 200, {"ok": False, "error": "message_not_found"}

        def _conversations_list(self, args):
            channels = [
                {"id": cid, "name": name, "is_channel": True, "is_archived": False}
                for name, cid in sorted(stub.channels.items())
            ]
            return 200, {"ok": True, "channels": channels,
                         "response_metadata": {"next_cursor": ""}}  # fmt: skip

        def _visible(self, m: dict, include_metadata) -> dict:
            out = {k: v for k, v in m.items() if k not in ("channel", "channel_name")}
            if not _truthy(include_metadata):
                out.pop("metadata", None)
            return out

        def _conversations_history(self, args):
            channel_id = args.get("channel") or ""
            if channel_id not in stub.channels.values():
                return 200, {"ok": False, "error": "channel_not_found"}
            oldest = float(args.get("oldest") or 0)
            found = [
                self._visible(m, args.get("include_all_metadata"))
                for m in reversed(stub.messages)
                if m["channel"] == channel_id
                and float(m["ts"]) >= oldest
                and (not m["thread_ts"] or m["reply_broadcast"])
            ]
            return 200, self._page(found, args)

        def _conversations_replies(self, args):
            channel_id, ts = args.get("channel") or "", args.get("ts")
            found = [
                self._visible(m, args.get("include_all_metadata"))
                for m in stub.messages
                if m["channel"] == channel_id and (m["ts"] == ts or m["thread_ts"] == ts)
            ]
            if not found:
                return 200, {"ok": False, "error": "thread_not_found"}
            return 200, self._page(found, args)

        def _page(self, found: list, args) -> dict:
            """One page of `limit` messages from the `cursor` on, as Slack pages them."""
            limit = int(args.get("limit") or 100)
            start = int(args.get("cursor") or 0)
            more = start + limit < len(found)
            return {
                "ok": True,
                "messages": found[start : start + limit],
                "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""},
            }

        def _files_getUploadURLExternal(self, args):
            if not args.get("filename") or not args.get("length"):
                return 200, {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{len(stub._pending_files) + 1:08d}"
            stub._pending_files[file_id] = args["filename"]
            host, port = stub._server.server_address[:2]
            return 200, {"ok": True, "file_id": file_id,
                         "upload_url": f"http://{host}:{port}/upload/{file_id}"}  # fmt: skip

        def _files_completeUploadExternal(self, args):
            files = args.get("files") or []
            done = []
            for f in files:
                if f.get("id") not in stub._files:
                    return 200, {"ok": False, "error": "file_not_found"}
                record = {
                    "id": f["id"],
                    "title": f.get("title"),
                    "filename": stub._pending_files.get(f["id"]),
                    "channel": args.get("channel_id"),
                    "thread_ts": args.get("thread_ts"),
                    "bytes": stub._files[f["id"]],
                }
                stub.uploads.append(record)
                done.append({"id": f["id"], "title": f.get("title")})
            return 200, {"ok": True, "files": done}

    return Handler
