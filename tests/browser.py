"""Headless Chromium for tests (design.md §2 flags), with every non-file request blocked.

Never ``playwright install``: the system Chromium at /usr/bin/chromium is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is absent (apt-get install -y chromium; .ci/run installs it)",
)


@dataclass
class Session:
    """An open page plus what it tried to do."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def remote_requests(self) -> list[str]:
        """Requests to anything but local schemes (each was blocked)."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)] + self.blocked


@contextmanager
def offline_browser(width: int = 1200, height: int = 800) -> Iterator[Session]:
    """A Chromium page with the network cut off: any non-file request is aborted and recorded."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            session = Session(page=page)

            def route(r: Any) -> None:
                url = r.request.url
                if url.startswith(LOCAL_SCHEMES):
                    r.continue_()
                else:
                    session.blocked.append(url)
                    r.abort()

            context.route("**/*", route)
            page.on("request", lambda req: session.requests.append(req.url))
            page.on("pageerror", lambda err: session.errors.append(str(err)))

            def dialog(d: Any) -> None:
                session.dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", dialog)
            yield session
        finally:
            browser.close()


def artifact(name: str) -> Path:
    """A path under test-artifacts/ (gitignored) for screenshots kept after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def coloured_pixels(png: bytes, *, min_saturation: int = 60) -> int:
    """Pixels of a PNG whose colour is clearly not grey/white (drawn points)."""
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    spread = rgb.max(axis=2) - rgb.min(axis=2)
    return int((spread >= min_saturation).sum())


def pixels_near(png: bytes, colour: tuple[int, int, int], *, tol: int = 30) -> int:
    """Pixels of a PNG within ``tol`` of ``colour`` in every channel."""
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((np.abs(rgb - np.array(colour)).max(axis=2) <= tol).sum())
