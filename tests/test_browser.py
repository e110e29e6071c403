"""preview --html in a real browser: headless Chromium loads the page and we read its DOM."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import DATE, Campaign
from test_check import replace_row

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CAMPAIGN_REQUIRE_BROWSER"):
    raise RuntimeError("CAMPAIGN_REQUIRE_BROWSER is set but no chromium is installed")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def dom(page: Path, profile: Path) -> str:
    """The page's DOM after the browser loaded it and ran any script it holds."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


class TestPreviewPage:
    """The page a browser shows is the letter, and recipient data stays text."""

    def test_html_letter_in_browser(self, sample: Campaign, tmp_path: Path) -> None:
        result = sample.run("preview", "10", "--date", DATE, "--html", "page.html")
        assert result.exit_code == 0, result.output
        shown = dom(sample.root / "page.html", tmp_path / "profile")
        assert "<title>287(g) Accountability</title>" in shown
        assert "Dear Secretary Ellison:" in shown
        assert "The Honorable Jordan M. Ellison<br>" in shown
        assert "[1] U.S. Department of Homeland Security, Office of Inspector General" in shown

    def test_text_letter_in_browser(self, sample: Campaign, tmp_path: Path) -> None:
        result = sample.run("preview", "1", "--date", DATE, "--html", "page.html")
        assert result.exit_code == 0, result.output
        shown = dom(sample.root / "page.html", tmp_path / "profile")
        assert "Dear Senator Rivera:" in shown
        assert "<pre>" in shown

    def test_markup_in_a_name_does_not_run(self, sample: Campaign, tmp_path: Path) -> None:
        script = "<script>document.title='pwned'</script>"
        replace_row(sample, 10, ",Ellison,", f",Ellison{script},")
        result = sample.run("preview", "10", "--date", DATE, "--html", "page.html")
        assert result.exit_code == 0, result.output
        shown = dom(sample.root / "page.html", tmp_path / "profile")
        assert "pwned" not in shown.split("</title>")[0]
        assert "Dear Secretary Ellison&lt;script&gt;document.title='pwned'&lt;/script&gt;:" in shown
