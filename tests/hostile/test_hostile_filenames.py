"""Hostile input, 5: whatever the names say, every file is a unique, safe ASCII name in --out."""

from __future__ import annotations

import re
import unicodedata

import pytest
from conftest import DATE, Campaign, listing
from hostile_kit import assert_row_rejected, mini, row

SAFE = re.compile(r"[0-9]{6}-[a-z0-9]+(?:-[a-z0-9]+)*\.(?:eml|txt)")
WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}

NAMES = [
    ("../../../etc", "passwd"),
    ("/etc/cron.d/evil", "/root"),
    ("..\\..\\Windows\\System32", "C:\\boot.ini"),
    ("CON", "aux.txt"),
    ("NUL", "LPT1"),
    (".", ".."),
    ("~", "$HOME"),
    ("é" * 150, "Ω" * 100),  # 300 and 200 bytes of UTF-8
    ("x" * 300, "y" * 300),
    ("Smith", "Jo"),
    ("SMITH", "JO"),
    ("smith", "jo"),
    (unicodedata.normalize("NFC", "José"), "Ana"),
    (unicodedata.normalize("NFD", "José"), "Ana"),
    ("李", "小龙"),
    ("-", "-"),
]


def export_names(sample: Campaign, fmt: str) -> list[str]:
    rows = [
        row(email=f"p{i}@example.org", last_name=last, first_name=first, full_name="A B")
        for i, (last, first) in enumerate(NAMES)
    ]
    mini(sample, rows)
    result = sample.run("export", "--format", fmt, "--out", "out", "--date", DATE)
    assert result.exit_code == 0, result.output
    bookkeeping = (".campaign-manifest", ".campaign-export.json")  # the list, the eml seal
    return [n for n in listing(sample.root / "out") if n not in bookkeeping]


class TestFileNames:
    """Path tricks, reserved names, huge names and near-twins all become safe, distinct files."""

    @pytest.mark.parametrize("fmt", ["eml", "txt"])
    def test_safe_unique_ascii_inside_out(self, sample: Campaign, fmt: str) -> None:
        names = export_names(sample, fmt)
        assert len(names) == len(NAMES) == len(set(names)) == len({n.lower() for n in names})
        for number, name in enumerate(names, 1):
            assert SAFE.fullmatch(name), name
            assert name.startswith(f"{number:06d}-")
            assert len(name.encode()) <= 80
            assert name.split(".")[0].lower() not in WINDOWS_RESERVED
        outside = [p for p in sample.root.rglob("*") if p.is_file()]
        assert all(p.parent in (sample.root, sample.letters, sample.root / "out") for p in outside)

    def test_expected_names(self, sample: Campaign) -> None:
        names = export_names(sample, "eml")
        assert names[:4] == [
            "000001-etc-passwd.eml",
            "000002-etc-cron-d-evil-root.eml",
            "000003-windows-system32-c-boot-ini.eml",
            "000004-con-aux-txt.eml",
        ]
        assert names[7] == "000008-" + "e" * 60 + ".eml"
        assert names[9:14] == [
            "000010-smith-jo.eml",
            "000011-smith-jo.eml",
            "000012-smith-jo.eml",
            "000013-jose-ana.eml",
            "000014-jose-ana.eml",
        ]
        assert names[14] == "000015-recipient.eml"

    @pytest.mark.parametrize(
        ("column", "value", "described"),
        [
            (
                "last_name",
                "gpj.\u202eexe",
                "an invisible formatting character (U+202E RIGHT-TO-LEFT OVERRIDE)",
            ),
            ("first_name", "a\x00b", "a control character (U+0000)"),
        ],
    )
    def test_nul_and_right_to_left_override_are_refused(
        self, sample: Campaign, column: str, value: str, described: str
    ) -> None:
        """These never reach a file name: a name with them is refused on its line."""
        mini(sample, [row(), row(email="b@example.org", **{column: value})])
        assert_row_rejected(
            sample, 3, f"column '{column}' contains {described}; it would go into a mail header"
        )
