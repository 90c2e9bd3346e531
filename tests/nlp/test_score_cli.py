"""`yujing score` as other tools run it: a real process, reading a FILE or a pipe."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from nlp.cli import BATCH, score_main

YUJING = str(Path(sys.executable).with_name("yujing"))


def _score(*args: str, data: bytes | None = None, stdin=None, env=None) -> list[dict]:
    run = subprocess.run(
        [YUJING, "score", *args],
        input=data,
        stdin=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode(errors="replace")
    return [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]


def test_a_bare_cr_does_not_split_a_post_from_a_file_or_a_pipe(tmp_path):
    """Universal newlines split FILE lines at a bare CR, shifting every later result."""
    data = "沐沐奶粉很好\r喝\n太难喝了\r\n".encode()
    path = tmp_path / "posts.txt"
    path.write_bytes(data)
    from_file = _score(str(path))
    assert len(from_file) == 2
    assert from_file[1]["negative"] is True  # the CRLF line is one post, its CR dropped
    assert _score(data=data) == from_file
    with path.open("rb") as redirected:  # `yujing score < FILE`: a regular-file stdin
        assert _score(stdin=redirected) == from_file


def test_invalid_utf8_on_stdin_gives_that_line_a_result_whatever_the_locale(tmp_path):
    data = "很好用\n".encode() + b"bad \xff\n" + "太差了\n".encode()
    path = tmp_path / "posts.txt"
    path.write_bytes(data)
    from_file = _score(str(path))
    assert len(from_file) == 3 and from_file[1]["sentiment"] is None and from_file[1]["error"]
    for encoding in ("utf-8:strict", "ascii:strict"):
        assert _score(data=data, env={"PYTHONIOENCODING": encoding}) == from_file


def test_order_and_count_are_kept_across_batches():
    lines = ["很好用" if i % 3 else "" for i in range(2 * BATCH + 7)]
    results = _score(data=("\n".join(lines) + "\n").encode())
    assert len(results) == len(lines)
    assert [r.get("error") == "empty text" for r in results] == [not line for line in lines]
    # in process, from a text stream without a file descriptor
    out = io.StringIO()
    assert score_main([], io.StringIO("很好用\r\n\n差评\r坏"), out) == 0
    results = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(results) == 3 and results[1]["error"] == "empty text"


def _read_line(stream, timeout: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no answer within {timeout}s while stdin is still open"
    return stream.readline()


def test_a_caller_that_waits_for_each_answer_gets_it():
    """Batching must not hold back a line when no more input is waiting (a co-process)."""
    with subprocess.Popen(
        [YUJING, "score"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        try:
            proc.stdin.write("沐沐奶粉太难喝了\n".encode())
            proc.stdin.flush()
            first = json.loads(_read_line(proc.stdout, 30))
            assert first["negative"] is True
            proc.stdin.write("很好用，下次还买\n".encode())
            proc.stdin.flush()
            second = json.loads(_read_line(proc.stdout, 30))
            assert second["negative"] is False
            proc.stdin.close()
            assert proc.stdout.read() == b""
            assert proc.wait(timeout=30) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_slow_pipe_still_gets_every_line_in_order():
    with subprocess.Popen([YUJING, "score"], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        for i in range(5):
            proc.stdin.write(("很好\n" if i % 2 else "\n").encode())
            proc.stdin.flush()
            time.sleep(0.05)
        out, _ = proc.communicate(timeout=60)
    results = [json.loads(line) for line in out.splitlines()]
    assert [r.get("error") for r in results] == ["empty text", None] * 2 + ["empty text"]
    assert proc.returncode == 0


def test_a_dash_reads_stdin_and_a_threshold_outside_0_1_is_refused(tmp_path):
    data = "沐沐奶粉很好\n太难喝了\n".encode()
    assert _score("-", data=data) == _score(data=data)
    for bad in ("2", "0", "-0.5", "abc"):
        run = subprocess.run(
            [YUJING, "score", "--negative-below", bad], input=b"x\n", capture_output=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 2 and b"--negative-below" in run.stderr and not run.stdout


def test_a_gbk_file_is_reported_as_not_utf8_not_scored_as_posts(tmp_path):
    """Text saved as GBK (Notepad or Excel on Chinese Windows): invalid bytes became "?",
    so a fifth of the lines were scored from the few characters that happened to decode
    (complaints among them) and the rest said "no Chinese text", never the encoding."""
    probe = Path(__file__).parent / "fixtures" / "complaint_probe_dev.tsv"
    texts = [line.split("\t")[2] for line in probe.read_text(encoding="utf-8").splitlines()[1:]]
    path = tmp_path / "posts-gbk.txt"
    path.write_bytes(("\n".join(texts) + "\n").encode("gbk", errors="ignore"))
    out = io.StringIO()
    assert score_main([str(path)], io.StringIO(""), out) == 0
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(results) == len(texts)
    assert {r.get("error") for r in results} == {"not valid UTF-8 text"}
    assert not any(r["complaint"] or r["negative"] for r in results)
    # a post with a stray bad byte is still scored
    out = io.StringIO()
    score_main([], io.StringIO("沐沐奶粉太难喝了\udcff\n"), out)
    assert json.loads(out.getvalue())["negative"] is True


def _run_with(stdin=None, stdout=None, close=(), args=()) -> subprocess.CompletedProcess:
    """`yujing score` with its stdin/stdout as given, fds in `close` closed (`>&-`)."""
    return subprocess.run(
        [YUJING, "score", *args], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
        preexec_fn=(lambda: [os.close(fd) for fd in close]) if close else None,
        timeout=120, check=False,
    )  # fmt: skip


def test_output_that_cannot_be_written_is_one_line_and_exit_1(tmp_path):
    """`yujing score posts.txt > out.jsonl` on a full disk, or with stdout closed, printed a
    traceback (and with stdout closed scored the whole input first)."""
    path = tmp_path / "posts.txt"
    path.write_text("很好用\n" * 3000, encoding="utf-8")
    if os.path.exists("/dev/full"):
        with open("/dev/full", "wb") as full:
            run = _run_with(stdout=full, args=[str(path)])
        assert run.returncode == 1
        assert run.stderr.decode() == (
            "yujing score: cannot write the results: No space left on device\n"
        )
    run = _run_with(close=[1], args=[str(path)])
    assert run.returncode == 1
    assert run.stderr.decode() == "yujing score: cannot write the results: stdout is closed\n"


def test_closed_stdin_is_one_line_and_exit_2():
    run = _run_with(stdout=subprocess.PIPE, close=[0])
    assert run.returncode == 2 and not run.stdout
    assert run.stderr.decode() == "yujing score: cannot read stdin: it is closed\n"


def test_a_file_that_fails_midway_is_one_line_and_exit_2():
    if not os.path.exists("/proc/self/mem"):
        return  # Linux: opens, then every read is an I/O error (as a failing disk)
    run = _run_with(stdout=subprocess.PIPE, args=["/proc/self/mem"])
    assert run.returncode == 2
    assert run.stderr.decode() == "yujing score: cannot read /proc/self/mem: Input/output error\n"
