"""preview --serve in a real browser: headless Chromium, driven by selenium through chromedriver."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Campaign
from test_check import replace_row
from test_serve import start

from campaign.serve import PreviewServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None
MISSING = CHROMIUM is None or CHROMEDRIVER is None or webdriver is None
if MISSING and os.environ.get("CAMPAIGN_REQUIRE_BROWSER"):
    raise RuntimeError(
        "CAMPAIGN_REQUIRE_BROWSER is set but chromium, chromedriver or selenium is missing"
    )
pytestmark = pytest.mark.skipif(MISSING, reason="chromium, chromedriver or selenium missing")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SCREENSHOTS = Path(os.environ.get("CAMPAIGN_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('profile')}")
    options.add_argument("--window-size=1280,900")
    # The driver Debian installs: selenium must not look for or download one.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def server(sample: Campaign) -> Iterator[PreviewServer]:
    running = start(sample.root)
    yield running
    running.shutdown()
    running.server_close()


def load(browser: Any, url: str) -> None:
    """Open a page and wait until it shows every row checked (it is swapped in once more
    when the checks finish after it loaded)."""
    browser.get(url)
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return document.getElementById('main').dataset.complete") == "1"
    )


def rows(browser: Any) -> list[Any]:
    return list(browser.find_elements(By.CSS_SELECTOR, "tr.row"))


def text(browser: Any, css: str) -> str:
    """An element's text as shown, read in one step: the page may swap its content in
    between two steps (and an element found in one is gone by the next)."""
    found = browser.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.innerText : null;", css
    )
    assert found is not None, f"no {css} on the page"
    return str(found)


class TestIndex:
    """Every recipient, filters, and one example of each kind of letter."""

    def test_lists_the_twelve_recipients(self, browser: Any, server: PreviewServer) -> None:
        browser.set_window_size(1280, 900)
        load(browser, server.url)
        assert len(rows(browser)) == 12
        summary = browser.find_element(By.TAG_NAME, "main").text
        # Warnings only where a quote has no source to verify it against (no ../shared here).
        assert "12 recipients: " in summary and ", 0 with errors" in summary
        assert rows(browser)[0].text.startswith("1 Alex J. Rivera congress Senator CA")
        browser.save_screenshot(str(SCREENSHOTS / "campaign-index.png"))
        browser.set_window_size(375, 800)
        browser.save_screenshot(str(SCREENSHOTS / "campaign-index-phone.png"))
        browser.set_window_size(1280, 900)

    def test_filtering_to_dhs_leaves_three(self, browser: Any, server: PreviewServer) -> None:
        load(browser, server.url)
        Select(browser.find_element(By.NAME, "audience")).select_by_value("dhs")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        WebDriverWait(browser, 10).until(lambda b: "audience=dhs" in b.current_url)
        found = rows(browser)
        assert len(found) == 3
        assert {r.find_element(By.CSS_SELECTOR, ".audience").text for r in found} == {"dhs"}
        assert "Rows 1–3 of 3 matching" in text(browser, "#shown")

    def test_search_and_status(self, browser: Any, server: PreviewServer) -> None:
        load(browser, server.url)
        browser.find_element(By.NAME, "q").send_keys("núñez")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        WebDriverWait(browser, 10).until(lambda b: "q=" in b.current_url)
        assert [r.text.split(" congress")[0] for r in rows(browser)] == ["4 Inés Núñez"]
        Select(browser.find_element(By.NAME, "status")).select_by_value("error")
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        WebDriverWait(browser, 10).until(lambda b: "status=error" in b.current_url)
        assert rows(browser) == []

    def test_each_kind_has_an_example(self, browser: Any, sample: Campaign) -> None:
        # The class, not only the sample: a chair, a Delegate and a row's own salutation.
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        lines[0] += ",salutation_title"
        lines[1:] = [line + "," for line in lines[1:]]
        lines[3] = lines[3][:-1] + ",Chairman"
        lines.append(
            "eleanor.ward@house.example.org,congress,Delegate,Eleanor,Ward,Eleanor Ward,DC,0,"
            "2136 Rayburn House Office Building,,,"
        )
        sample.recipients.write_text("\n".join(lines) + "\n", encoding="utf-8")
        running = start(sample.root)
        try:
            load(browser, running.url)
            kinds = {
                k.find_element(By.CSS_SELECTOR, "td").text: k.find_element(
                    By.CSS_SELECTOR, "a.example"
                ).get_attribute("href")
                for k in browser.find_elements(By.CSS_SELECTOR, "tr.kind")
            }
            assert set(kinds) == {
                "congress · Senator",
                "congress · Senator · salutation title Chairman",
                "congress · Representative",
                "congress · Representative · at large",
                "congress · Delegate · at large",
                "dhs · Secretary of Homeland Security",
                "dhs · Acting Director",
                "dhs · Inspector General",
            }
            salutations = {
                "congress · Senator · salutation title Chairman": "Dear Chairman Okafor:",
                "congress · Delegate · at large": "Dear Delegate Ward:",
                "dhs · Acting Director": "Dear Acting Director Holloway:",
                "congress · Representative · at large": "Dear Representative Baker:",
            }
            for label, link in kinds.items():
                load(browser, link)
                letter = text(browser, "#letter")
                assert "Sincerely," in letter, label
                if label in salutations:
                    assert salutations[label] in letter
        finally:
            running.shutdown()
            running.server_close()


class TestLetter:
    """A letter page: headers as sent, the body, references, marked fields and quotes."""

    def test_text_letter(self, browser: Any, server: PreviewServer) -> None:
        load(browser, server.url + "letter/1")
        headers = text(browser, "#headers")
        assert 'To\t"Alex J. Rivera" <alex.rivera@senate.example.org>' in headers
        assert (
            "Subject\t287(g): the Inspector General's report calls for oversight, Senator "
            "Rivera" in headers
        )
        letter = text(browser, "#letter")
        assert "Dear Senator Rivera:" in letter
        assert "The Honorable Alex J. Rivera\n331 Hart Senate Office Building" in letter
        marked = {
            (e.get_attribute("data-field"), e.text)
            for e in browser.find_elements(By.CSS_SELECTOR, "#letter .field")
        }
        assert ("full_name", "Alex J. Rivera") in marked
        assert ("office", "331 Hart Senate Office Building") in marked
        assert ("last_name", "Rivera") in marked
        assert ("salutation", "Dear Senator Rivera:") in marked
        cite = browser.find_element(By.CSS_SELECTOR, "#letter a.cite")
        assert cite.text == "[1]"
        cite.click()
        target = browser.find_element(By.CSS_SELECTOR, ":target")
        assert target.get_attribute("id") == "ref-1"
        assert target.text.startswith("[1] U.S. Department of Homeland Security")
        browser.save_screenshot(str(SCREENSHOTS / "campaign-letter.png"))

    def test_toggle_marks(self, browser: Any, server: PreviewServer) -> None:
        load(browser, server.url + "letter/1")
        field = browser.find_element(By.CSS_SELECTOR, "#letter .field[data-field=office]")
        marked = field.value_of_css_property("background-color")
        browser.find_element(By.ID, "marks").click()
        assert field.value_of_css_property("background-color") != marked
        assert field.value_of_css_property("background-color") == "rgba(0, 0, 0, 0)"

    def test_html_letter_and_quotes(self, browser: Any, sample: Campaign) -> None:
        # One quote word for word in its source, one not: each is marked as it is.
        quotes = sample.letters / "quotes.toml"
        source = sample.root / "source.txt"
        source.write_text(
            "Jumana Musa said: “ICE’s response to this particular recommendation is revealing. "
            "They insist that racial profiling is not occurring, but they then refuse to track "
            "the data that would give evidence to their claim.” And: It is time to stop "
            "moving resources.",
            encoding="utf-8",
        )
        kept = [line for line in quotes.read_text(encoding="utf-8").splitlines()
                if not line.startswith("source_file")]  # fmt: skip
        text_out = "\n".join(kept).replace(
            'source_date = "April 2010"', f'source_date = "April 2010"\nsource_file = "{source}"'
        )
        quotes.write_text(text_out + "\n", encoding="utf-8")
        running = start(sample.root)
        try:
            load(browser, running.url + "letter/11")
            letter = text(browser, "#letter")
            assert "Dear Acting Director Holloway:" in letter
            assert (
                "Patricia Holloway\nActing Director\nU.S. Immigration and Customs Enforcement"
                in letter
            )
            states = {
                e.get_attribute("class"): e.text
                for e in browser.find_elements(By.CSS_SELECTOR, "#letter .quote")
            }
            assert len(states) == 2
            assert states["quote verified"].startswith("“ICE’s response")
            assert states["quote differs"].startswith("“It is time to stop diverting")
            badges = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#letter .badge")]
            assert badges == ["✓ verified", "✗ differs from source"]
            problems = text(browser, "#row-problems")
            assert "quote 'martinez-de-castro' not verified" in problems
            # check's verdict stands: a quote not in its source stops the export.
            assert "Not sent: the campaign has errors" in text(browser, "main")
            assert browser.find_element(By.CSS_SELECTOR, "li#ref-1").text.startswith("[1] U.S.")
        finally:
            running.shutdown()
            running.server_close()

    def test_script_in_a_field_stays_text(self, browser: Any, sample: Campaign) -> None:
        script = "<script>window.pwned=1;document.title='pwned'</script>"
        replace_row(sample, 10, ",Ellison,", f",Ellison{script},")
        running = start(sample.root)
        try:
            for path in ("", "letter/10"):
                load(browser, running.url + path)
                assert browser.execute_script("return window.pwned") is None
                assert "pwned" not in browser.title
            assert f"Dear Secretary Ellison{script}:" in text(browser, "#letter")
        finally:
            running.shutdown()
            running.server_close()


class TestLive:
    """An open page follows the templates as they change, without a reload by hand."""

    def test_a_changed_word_shows_within_two_seconds(
        self, browser: Any, server: PreviewServer, sample: Campaign
    ) -> None:
        load(browser, server.url + "letter/5")
        assert "you can press for oversight" in text(browser, "#letter")
        browser.execute_script("window.notReloaded = true")
        template = sample.letters / "congress.txt.j2"
        source = template.read_text(encoding="utf-8")
        template.write_text(source.replace("you can press", "you can demand"), encoding="utf-8")
        WebDriverWait(browser, 2, poll_frequency=0.1).until(
            lambda b: "you can demand for oversight" in text(b, "#letter")
        )
        assert browser.execute_script("return window.notReloaded") is True

    def test_broken_syntax_shows_the_error_at_its_line(
        self, browser: Any, server: PreviewServer, sample: Campaign
    ) -> None:
        load(browser, server.url + "letter/1")
        template = sample.letters / "congress.txt.j2"
        lines = template.read_text(encoding="utf-8").splitlines()
        lines[3] += " {% if %}"
        template.write_text("\n".join(lines) + "\n", encoding="utf-8")
        WebDriverWait(browser, 2, poll_frequency=0.1).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "#render-error")
        )
        assert "letters/congress.txt.j2:4: error: syntax" in text(browser, "main")
        assert not browser.find_elements(By.CSS_SELECTOR, "#letter")
        # Fixed again: the letter is back.
        lines[3] = lines[3].replace(" {% if %}", "")
        template.write_text("\n".join(lines) + "\n", encoding="utf-8")
        WebDriverWait(browser, 2, poll_frequency=0.1).until(
            lambda b: b.find_elements(By.CSS_SELECTOR, "#letter")
        )
        assert "Dear Senator Rivera:" in text(browser, "#letter")


class TestPolicy:
    """Markup in the campaign's own HTML template cannot run or lead the page away."""

    def test_script_and_refresh_in_an_html_template(self, browser: Any, sample: Campaign) -> None:
        template = sample.letters / "dhs.html.j2"
        source = template.read_text(encoding="utf-8")
        template.write_text(
            source.replace(
                "<p>{{ recipient.salutation }}</p>",
                "<p>{{ recipient.salutation }}</p><script>window.pwned = 1</script>"
                '<meta http-equiv="refresh" content="0; url=/letter/1">'
                '<img src="http://example.org/track.png" alt="">',
            ),
            encoding="utf-8",
        )
        running = start(sample.root)
        try:
            load(browser, running.url + "letter/10")
            time.sleep(1.5)  # a refresh would have left the page by now
            assert browser.current_url.endswith("/letter/10")
            assert browser.execute_script("return window.pwned") is None
            assert "Dear Secretary Ellison:" in text(browser, "#letter")
            image = browser.find_element(By.CSS_SELECTOR, "#letter img")
            assert browser.execute_script("return arguments[0].naturalWidth", image) == 0
        finally:
            running.shutdown()
            running.server_close()


class TestCommand:
    """The command itself, as an organizer runs it, opened in the browser."""

    def test_preview_serve_port(self, browser: Any, sample: Campaign) -> None:
        with socket.socket() as probe:  # a port free a moment ago
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "campaign", "preview", "--serve", "--port", str(port)],
            cwd=sample.root,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            assert f"http://127.0.0.1:{port}/" in process.stderr.readline()
            load(browser, f"http://127.0.0.1:{port}/")
            assert len(rows(browser)) == 12
            load(browser, f"http://127.0.0.1:{port}/?audience=dhs")
            assert len(rows(browser)) == 3
            load(browser, f"http://localhost:{port}/letter/12")
            assert "Dear Inspector General Castellanos:" in text(browser, "#letter")
        finally:
            process.terminate()
            process.wait(timeout=10)
