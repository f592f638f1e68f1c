"""Issue 12, item 9: ``thememap check`` really checks, and runs that would start empty stop.

Every problem is one line on stderr and exit status 2; the real command line runs
in-process (``main``), on real files and real SQLite stores, with no kernel started.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from json_http import JsonHandler

import thememap
from thememap.errors import InputError
from thememap.runner.cli import main
from thememap.runner.notebook import start_step
from thememap.store import open_store
from thememap.store.items import count_items

KEY = "sk-test-0123456789abcdef"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    """The single ``thememap: error:`` line of stderr (asserts there is exactly one)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("thememap: error: "), err
    assert "Traceback" not in err
    return lines[0]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"ticket": f"t{i}", "body": text, "subject": f"subject {i}", "opened": f"2025-03-0{i + 1}"}
    for i, text in enumerate(
        ["App crashes on start", "Please add dark mode", "Sync is slow", "Login fails"]
    )
]
INPUT = {"path": "in.jsonl", "text_field": "body", "id_field": "ticket"}


def test_a_good_input_is_previewed_three_rows(capsys, write_params, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    settings = {**INPUT, "title_field": "subject", "created_at_field": "opened"}
    params = write_params({"store": "s.db", "input": settings})
    code, out, err = run_cli(capsys, "check", str(params))
    assert code == 0, err
    assert "in.jsonl (jsonl): first 4 row(s) read; fields ticket, body, subject, opened" in out
    preview = [line for line in out.splitlines() if line.startswith("  t")]
    assert preview == [
        "  t0 | 2025-03-01 | subject 0 | App crashes on start",
        "  t1 | 2025-03-02 | subject 1 | Please add dark mode",
        "  t2 | 2025-03-03 | subject 2 | Sync is slow",
    ]
    assert not (tmp_path / "s.db").exists()  # checking creates no store


def test_a_missing_input_file_is_one_line(capsys, write_params, tmp_path: Path) -> None:
    params = write_params({"store": "s.db", "input": {**INPUT, "path": "nowhere.jsonl"}})
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    assert one_error(err).endswith("nowhere.jsonl: input file not found")


def test_an_input_that_does_not_parse_is_one_line(capsys, write_params, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("ticket,body\nt1,hello\nt2,world\n", encoding="utf-8")
    params = write_params({"store": "s.db", "input": INPUT})
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    line = one_error(err)
    assert "in.jsonl: none of the first 3 rows can be read as jsonl (line 1: broken JSON" in line


@pytest.mark.parametrize(
    ("settings", "key", "name"),
    [
        ({"id_field": "ticket_id"}, "input.id_field", "ticket_id"),
        ({"created_at_field": "when"}, "input.created_at_field", "when"),
        ({"title_field": "Subject"}, "input.title_field", "Subject"),
        ({"context_fields": ["product"]}, "input.context_fields", "product"),
    ],
)
def test_a_named_field_missing_from_the_input_is_one_line(
    capsys, write_params, tmp_path: Path, settings: dict[str, Any], key: str, name: str
) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    params = write_params({"store": "s.db", "input": {**INPUT, **settings}})
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    line = one_error(err)
    assert f"{key} {name!r} is not a field of the file (fields: ticket, body, subject, opened)" in (
        line
    )


def test_a_missing_text_column_in_a_csv_is_one_line(capsys, write_params, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("id,content\n1,hello\n", encoding="utf-8")
    params = write_params({"store": "s.db", "input": {"path": "in.csv", "text_field": "body"}})
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    assert "no column 'body' in the header (columns: id, content)" in one_error(err)


def test_item_text_cannot_drive_the_terminal(capsys, write_params, tmp_path: Path) -> None:
    hostile = [{"ticket": "t\x1b[2J1", "body": "evil \x1b]0;owned\x07 text\rover"}]
    write_jsonl(tmp_path / "in.jsonl", hostile)
    params = write_params({"store": "s.db", "input": INPUT})
    code, out, _ = run_cli(capsys, "check", str(params))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "  t1 | evil ]0;owned text over" in out  # harmless without ESC and BEL


def test_no_input_and_an_empty_store_is_an_error_in_check_run_and_the_notebook(
    capsys, write_params, tmp_path: Path
) -> None:
    params = write_params({"store": "s.db"})
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    assert "input.path is not set and the store" in one_error(err) and "has no items" in err
    code, _, err = run_cli(capsys, "run", str(params), "--run-name", "empty")
    assert code == 2
    assert "input.path is not set and the store" in one_error(err)
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "reports").exists()
    # "Run All" in JupyterLab: the notebook's first cell stops the same way
    with pytest.raises(InputError, match="has no items"):
        start_step("01_embed", str(params))
    assert not (tmp_path / "s.db").exists()
    # an existing store with items is a valid source on its own
    with closing(open_store(tmp_path / "s.db")) as conn:
        conn.execute(
            "INSERT INTO items(external_id, content, content_hash) VALUES ('a', 'hello', 'h')"
        )
        assert count_items(conn) == 1
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 0, err


def test_an_api_key_a_backend_needs_must_be_set_and_is_never_printed(
    capsys, write_params, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    monkeypatch.delenv("TM_TEST_KEY", raising=False)
    settings = {"store": "s.db", "input": INPUT, "embed": {"backend": "openai"}}
    params = write_params(
        {**settings, "embed": {"backend": "openai", "api_key_env": "TM_TEST_KEY"}}
    )
    code, _, err = run_cli(capsys, "check", str(params))
    assert code == 2
    assert "embed.api_key_env: the environment variable TM_TEST_KEY is not set" in one_error(err)
    llm = write_params(
        {
            "store": "s.db",
            "input": INPUT,
            "describe": {"source": "llm", "api_key_env": "TM_TEST_KEY"},
        },
        name="llm.yaml",
    )
    code, _, err = run_cli(capsys, "check", str(llm))
    assert code == 2
    assert "describe.api_key_env: the environment variable TM_TEST_KEY is not set" in one_error(err)
    # thememap run stops on it before any notebook starts
    code, _, err = run_cli(capsys, "run", str(llm), "--run-name", "nokey")
    assert code == 2 and "describe.api_key_env" in one_error(err)
    assert not (tmp_path / "reports").exists()

    monkeypatch.setenv("TM_TEST_KEY", KEY)
    code, out, err = run_cli(capsys, "check", str(params))
    assert code == 0, err
    assert "key from $TM_TEST_KEY (set)" in out and KEY not in out + err
    # a server of one's own needs no key
    monkeypatch.delenv("TM_TEST_KEY")
    local = {"backend": "openai", "api_key_env": "TM_TEST_KEY", "base_url": "http://127.0.0.1:9/v1"}
    own = write_params({**settings, "embed": local}, name="own.yaml")
    code, out, err = run_cli(capsys, "check", str(own))
    assert code == 0, err
    assert "key from $TM_TEST_KEY (not set)" in out


@contextmanager
def models_server(status: int) -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 answering GET /v1/models with ``status``."""
    seen: list[str] = []

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path} {self.headers.get('Authorization', '')}")
            self.send_json(status, {"object": "list", "data": []})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()


def test_ping_tries_base_url(capsys, write_params, monkeypatch, tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    monkeypatch.setenv("TM_TEST_KEY", KEY)

    def params_for(url: str, name: str) -> Path:
        embed = {"backend": "openai", "api_key_env": "TM_TEST_KEY", "base_url": url}
        return write_params({"store": "s.db", "input": INPUT, "embed": embed}, name=name)

    with models_server(200) as (url, seen):
        code, out, err = run_cli(capsys, "check", str(params_for(url, "ok.yaml")), "--ping")
    assert code == 0, err
    assert f"embed.base_url {url}: answers (HTTP 200 on /models" in out
    assert seen == [f"/v1/models Bearer {KEY}"] and KEY not in out + err

    with models_server(401) as (url, _):
        code, _, err = run_cli(capsys, "check", str(params_for(url, "refused.yaml")), "--ping")
    assert code == 2
    assert one_error(err).endswith(f"{url}: refused the key in $TM_TEST_KEY (HTTP 401)")

    with models_server(200) as (url, _):
        closed = url  # the port is free again once the server is gone
    code, _, err = run_cli(capsys, "check", str(params_for(closed, "closed.yaml")), "--ping")
    assert code == 2
    assert f"embed.base_url {closed}: cannot reach it (" in one_error(err)

    code, out, _ = run_cli(capsys, "check", str(write_params({"input": INPUT})), "--ping")
    assert code == 0 and "nothing to ping" in out


def test_from_and_only_need_what_the_earlier_notebooks_leave(
    capsys, write_params, tmp_path: Path
) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    params = str(write_params({"store": "s.db", "input": INPUT}))
    code, _, err = run_cli(capsys, "run", params, "--from", "03_describe")
    assert code == 2
    assert one_error(err).endswith(
        "03_describe needs the clusters of 02_cluster, and the store "
        f"{tmp_path / 's.db'} has none: run 02_cluster first "
        "(thememap run PARAMS --from 02_cluster)"
    )
    code, _, err = run_cli(capsys, "run", params, "--only", "02_cluster")
    assert code == 2 and "02_cluster needs the vectors of 01_embed" in one_error(err)
    code, _, err = run_cli(capsys, "run", params, "--only", "04")
    assert code == 2 and "04_export needs the clusters of 02_cluster" in one_error(err)
    code, _, err = run_cli(capsys, "run", params, "--from", "05_more")
    assert code == 2
    assert "--from: unknown notebook '05_more' (valid: 01_embed, 02_cluster" in one_error(err)
    assert not (tmp_path / "s.db").exists() and not (tmp_path / "reports").exists()


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"thememap {thememap.__version__}"
