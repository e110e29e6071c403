"""preview --serve over plain HTTP: who it answers, what it refuses, what its pages hold."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Campaign
from test_check import replace_row

from campaign.errors import CampaignError
from campaign.pipeline import Options
from campaign.serve import PreviewServer

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def start(root: Path, port: int = 0, host: str = "127.0.0.1") -> PreviewServer:
    options = Options(
        campaign_dir=root,
        campaign_display=".",
        recipients=root / "recipients.csv",
        recipients_display="recipients.csv",
        needs_email=True,
    )
    server = PreviewServer(options, NOW, port, host)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server(sample: Campaign) -> Iterator[PreviewServer]:
    running = start(sample.root)
    yield running
    running.shutdown()
    running.server_close()


def request(
    server: PreviewServer, path: str, host: str | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest(method, path, skip_host=True)
    if host is not None:
        connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, dict(response.getheaders()), body


def get(server: PreviewServer, path: str) -> str:
    status, _, body = request(server, path, f"127.0.0.1:{server.port}")
    assert status == 200, body
    return body


class TestWhoItAnswers:
    """Only the loopback address, only its own name and port, only reading."""

    @pytest.mark.parametrize(
        "host", ["attacker.example", "attacker.example:{port}", "127.0.0.1", "127.0.0.1:1", ""]
    )
    def test_a_foreign_host_header_is_refused(self, server: PreviewServer, host: str) -> None:
        status, _, body = request(server, "/", host.format(port=server.port))
        assert status == 421
        assert "287(g)" not in body and "Rivera" not in body
        assert f"answers only to http://127.0.0.1:{server.port}/" in body

    def test_no_host_header_is_refused(self, server: PreviewServer) -> None:
        status, _, body = request(server, "/letter/1", None)
        assert status == 421
        assert "Rivera" not in body

    @pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
    def test_its_own_names_are_served(self, server: PreviewServer, host: str) -> None:
        status, _, body = request(server, "/", host.format(port=server.port))
        assert status == 200
        assert "Alex J. Rivera" in body

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    def test_only_get_and_head(self, server: PreviewServer, method: str) -> None:
        status, headers, _ = request(server, "/", f"127.0.0.1:{server.port}", method)
        assert status == 405
        assert headers["Allow"] == "GET, HEAD"

    def test_head_sends_no_body(self, server: PreviewServer) -> None:
        status, headers, body = request(server, "/", f"127.0.0.1:{server.port}", "HEAD")
        assert status == 200 and body == ""
        assert int(headers["Content-Length"]) > 1000

    @pytest.mark.parametrize(
        "path",
        ["/recipients.csv", "/letters/campaign.toml", "/../recipients.csv", "/%2e%2e/letters",
         "/letter/../../etc/passwd", "/letter/99", "/letter/1x", "/letter/%C2%B2", "/letter/0"],
    )  # fmt: skip
    def test_no_file_is_served(self, server: PreviewServer, path: str) -> None:
        status, _, body = request(server, path, f"127.0.0.1:{server.port}")
        assert status == 404
        assert "sender_email" not in body and "alex.rivera@" not in body

    def test_bound_to_loopback_only(self, server: PreviewServer) -> None:
        assert server.socket.family == socket.AF_INET
        assert server.socket.getsockname()[0] == "127.0.0.1"
        # 127.0.0.2 is this machine too: a server bound to every address would answer there.
        others = {"127.0.0.2"}
        try:  # the address of the interface a packet to elsewhere would leave by (none sent)
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.connect(("192.0.2.1", 9))
            others.add(probe.getsockname()[0])
            probe.close()
        except OSError:
            pass
        with socket.create_connection(("127.0.0.1", server.port), timeout=2):
            pass
        for address in others - {"127.0.0.1", "0.0.0.0"}:  # reach nothing
            with pytest.raises(OSError):
                socket.create_connection((address, server.port), timeout=2).close()

    @pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "::1", "example.org", ""])
    def test_binding_elsewhere_is_refused(self, sample: Campaign, host: str) -> None:
        with pytest.raises(CampaignError, match=r"listens on 127\.0\.0\.1 only"):
            start(sample.root, host=host)

    def test_a_port_in_use_is_a_clear_error(self, server: PreviewServer, sample: Campaign) -> None:
        with pytest.raises(CampaignError, match=rf"cannot listen on 127\.0\.0\.1:{server.port}"):
            start(sample.root, port=server.port)

    def test_headers_forbid_other_origins(self, server: PreviewServer) -> None:
        status, headers, body = request(server, "/letter/10", f"127.0.0.1:{server.port}")
        assert status == 200
        csp = headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'; script-src 'nonce-")
        nonce = csp.split("'nonce-")[1].split("'")[0]
        assert f'<script nonce="{nonce}">' in body and f'<style nonce="{nonce}">' in body
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "http://" not in body.split("<main")[0]  # nothing fetched from elsewhere
        # A fresh nonce for every response.
        _, again, _ = request(server, "/letter/10", f"127.0.0.1:{server.port}")
        assert again["Content-Security-Policy"] != csp


class TestPages:
    """The index and letters as HTML, every value escaped."""

    def test_version_changes_with_the_files(self, server: PreviewServer, sample: Campaign) -> None:
        first = json.loads(get(server, "/_version"))
        assert first == json.loads(get(server, "/_version"))
        template = sample.letters / "congress.txt.j2"
        template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        assert json.loads(get(server, "/_version"))["version"] != first["version"]

    def test_markup_everywhere_stays_text(self, sample: Campaign) -> None:
        script = "<script>alert(1)</script>"
        replace_row(sample, 10, ",Ellison,", f",Ellison{script},")
        replace_row(sample, 1, ",CA,", f",CA{script},")
        settings = sample.letters / "campaign.toml"
        text = settings.read_text(encoding="utf-8")
        settings.write_text(
            text.replace('name = "287(g) Accountability"', f'name = "287(g) {script}"'),
            encoding="utf-8",
        )
        running = start(sample.root)
        try:
            for path in ("/", "/?q=%3Cscript%3E", "/letter/1", "/letter/10"):
                body = get(running, path)
                assert "<script>alert" not in body, path
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path
        finally:
            running.shutdown()
            running.server_close()

    def test_filters_search_and_pages(self, server: PreviewServer) -> None:
        assert get(server, "/?audience=dhs").count('<tr class="row"') == 3
        assert get(server, "/?title=Senator").count('<tr class="row"') == 4
        assert get(server, "/?status=error").count('<tr class="row"') == 0
        assert get(server, "/?q=okafor").count('<tr class="row"') == 1
        assert get(server, "/?q=tx+representative").count('<tr class="row"') == 1
        assert get(server, "/?page=2").count('<tr class="row"') == 0
        assert get(server, "/?page=-1&status=nonsense").count('<tr class="row"') == 12

    def test_row_problems_are_listed(self, sample: Campaign) -> None:
        replace_row(sample, 3, ",IL,", ",Illinois,")
        replace_row(
            sample, 5, "grace.lindqvist@house.example.org", "alex.rivera@senate.example.org"
        )
        running = start(sample.root)
        try:
            errors = get(running, "/?status=error")
            assert errors.count('<tr class="row"') == 2
            assert "duplicates the address on line 2" in errors
            letter = get(running, "/letter/3")
            assert "recipients.csv:4: error: column &#39;state&#39;" in letter
            assert "Not sent: the row has errors." in letter
        finally:
            running.shutdown()
            running.server_close()


class TestCommand:
    """The command prints the URL and serves until stopped."""

    def test_serve_from_the_command_line(self, sample: Campaign) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "campaign", "preview", "--serve", "--port", "0"],
            cwd=sample.root,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert line.startswith("Serving the preview at http://127.0.0.1:")
            port = int(line.split("127.0.0.1:")[1].split("/")[0])
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/", headers={"Host": f"localhost:{port}"})
            assert "Alex J. Rivera" in connection.getresponse().read().decode()
        finally:
            process.terminate()
            process.wait(timeout=10)

    @pytest.mark.parametrize("extra", [["3"], ["--html", "x.html"]])
    def test_serve_takes_no_selector(self, sample: Campaign, extra: list[str]) -> None:
        result = sample.run("preview", "--serve", *extra)
        assert result.exit_code == 2
        assert "--serve shows every recipient" in result.output

    def test_open_needs_serve(self, sample: Campaign) -> None:
        result = sample.run("preview", "--open")
        assert result.exit_code == 2
        assert "--open goes with --serve" in result.output

    @pytest.mark.parametrize("port", ["-1", "65536", "http"])
    def test_a_bad_port_is_a_usage_error(self, sample: Campaign, port: str) -> None:
        assert sample.run("preview", "--serve", "--port", port).exit_code == 2


class TestManyRows:
    """Pages of 50, in order, with links from one to the next, filters kept."""

    def test_pages(self, sample: Campaign) -> None:
        lines = sample.recipients.read_text(encoding="utf-8").splitlines()
        senator = lines[1]
        extra = [
            senator.replace("alex.rivera@", f"member{i}@").replace(",Rivera,", f",Rivera{i},")
            for i in range(108)
        ]
        sample.recipients.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
        running = start(sample.root)
        try:
            deadline = time.monotonic() + 30
            while not json.loads(get(running, "/_version"))["complete"]:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            first = get(running, "/")
            assert first.count('<tr class="row"') == 50
            assert "Rows 1–50 of 120 matching" in first
            assert 'rel="next" href="/?page=2"' in first and 'rel="prev"' not in first
            last = get(running, "/?page=3")
            assert last.count('<tr class="row"') == 20
            assert '<a href="/letter/120">' in last and 'rel="next"' not in last
            senators = get(running, "/?title=Senator&page=2")
            assert "Rows 51–100 of 112 matching" in senators
            assert 'href="/?title=Senator&amp;page=3"' in senators
            assert 'href="/?title=Senator"' in senators  # back to the first page
            letter = get(running, "/letter/120")
            assert "Dear Senator Rivera107:" in re.sub(r"<[^>]*>", "", letter)
            assert 'rel="prev" href="/letter/119"' in letter and 'rel="next"' not in letter
        finally:
            running.shutdown()
            running.server_close()


class TestBrokenCampaign:
    """A campaign that cannot be loaded says why on every page, until it is fixed."""

    @pytest.mark.parametrize("path", ["/", "/letter/1", "/?audience=dhs"])
    def test_settings_that_do_not_parse(
        self, server: PreviewServer, sample: Campaign, path: str
    ) -> None:
        settings = sample.letters / "campaign.toml"
        good = settings.read_text(encoding="utf-8")
        settings.write_text(good.replace('name = "287(g)', 'name = = "287(g)'), encoding="utf-8")
        page = get(server, path)
        assert "The campaign cannot be loaded" in page
        assert "letters/campaign.toml:4: error:" in page
        settings.write_text(good, encoding="utf-8")
        assert "Alex J. Rivera" in get(server, path.replace("audience=dhs", ""))

    def test_recipients_file_gone(self, server: PreviewServer, sample: Campaign) -> None:
        sample.recipients.rename(sample.root / "elsewhere.csv")
        page = get(server, "/letter/1")
        assert "recipients.csv: error: recipients file not found" in page
