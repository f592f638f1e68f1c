"""A describe run killed mid-way (a real process, SIGKILL) resumes without paying twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from describe_fixture import hierarchy
from describe_llm_fake import FakeServer

from thememap.store import open_store

TESTS = Path(__file__).resolve().parent
N_CLUSTERS = len(hierarchy().nodes)

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from describe_fixture import BowEmbedder, hierarchy
    from thememap.describe.llm_runner import LLMDescriber
    from thememap.describe.offline import OfflineDescriber
    from thememap.describe.params import DescribeParams
    from thememap.store import open_store
    from thememap.store.cards import SqliteCache

    store, base_url = sys.argv[1], sys.argv[2]
    h = hierarchy()
    offline = OfflineDescriber(embedder=BowEmbedder()).fit(h).cards_
    p = DescribeParams(source="llm", provider="openai_compatible", base_url=base_url,
                       model="test-model", api_key_env="THEMEMAP_TEST_NO_KEY", concurrency=1)
    d = LLMDescriber(p, cache=SqliteCache(open_store(store)), progress=False).fit(h, offline)
    assert all(c.ok for c in d.cards_.values()), d.cards_
    print("requests", d.usage_.requests)
    """
)


@pytest.mark.slow
def test_killed_run_resumes_and_pays_no_card_twice(tmp_path: Path) -> None:
    script = tmp_path / "describe_llm.py"
    script.write_text(SCRIPT.format(tests=str(TESTS)), encoding="utf-8")
    store = tmp_path / "items.db"
    open_store(store).close()
    with FakeServer(delay_s=0.25) as server:
        proc = subprocess.Popen([sys.executable, str(script), str(store), server.base_url])
        deadline = time.monotonic() + 90
        while len(server.digests) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=30)
        assert proc.returncode != 0, "the run finished before it could be killed"
        conn = open_store(store)
        cached = conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0]
        conn.close()
        assert 2 <= cached < N_CLUSTERS
        before = len(server.digests)

        done = subprocess.run(
            [sys.executable, str(script), str(store), server.base_url],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        resumed = server.digests[before:]
    # every card not cached at the kill is asked once; none that was cached is asked again
    assert len(resumed) == N_CLUSTERS - cached
    assert f"requests {N_CLUSTERS - cached}" in done.stdout
    assert len(set(server.digests)) == N_CLUSTERS
    conn = open_store(store)
    assert conn.execute("SELECT COUNT(*) FROM llm_cache").fetchone()[0] == N_CLUSTERS
