"""The parse cache: where it lives (TITO_PARSE_CACHE, `off`), served when warm, never required."""
from __future__ import annotations

import pytest

from tito.core import parsecache
from tito.core.course import Course


def parse(root):
    course = Course.load(root)
    return course.parse(course.modules[0])


def refuse_to_parse(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("parsed again although the cache holds this file")

    monkeypatch.setattr(parsecache, "parse_text", fail)


def test_cache_folder_from_the_environment_serves_the_second_parse(adder_course, tmp_path, monkeypatch):
    folder = tmp_path / "elsewhere"
    monkeypatch.setenv("TITO_PARSE_CACHE", str(folder))
    first = parse(adder_course)
    assert len(list(folder.glob("*.pickle"))) == 1
    assert not (adder_course / ".tito").exists(), "nothing is written into the course"
    refuse_to_parse(monkeypatch)
    assert parse(adder_course) == first


def test_default_location_is_inside_the_course(adder_course, monkeypatch):
    monkeypatch.delenv("TITO_PARSE_CACHE", raising=False)
    parse(adder_course)
    assert len(list((adder_course / ".tito" / "cache" / "parse").glob("*.pickle"))) == 1


def test_off_writes_nothing(adder_course, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TITO_PARSE_CACHE", "off")
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    before = sorted(adder_course.rglob("*"))
    assert [c.kind for c in parse(adder_course).cells][:2] == ["markdown", "code"]
    assert sorted(adder_course.rglob("*")) == before and list(cwd.iterdir()) == []


def test_an_unwritable_cache_only_costs_a_fresh_parse(adder_course, monkeypatch):
    monkeypatch.delenv("TITO_PARSE_CACHE", raising=False)
    (adder_course / ".tito").write_text("a file where the cache folder would go")
    parsed = parse(adder_course)
    assert parsed.problems == [] and parsed.default_exp == "core.adder"


def test_a_corrupt_entry_is_parsed_again_and_replaced(adder_course, tmp_path, monkeypatch):
    monkeypatch.setenv("TITO_PARSE_CACHE", str(tmp_path / "cache"))
    first = parse(adder_course)
    (entry,) = (tmp_path / "cache").glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert parse(adder_course) == first
    refuse_to_parse(monkeypatch)
    assert parse(adder_course) == first


def test_editing_the_source_misses_the_cache(adder_course, tmp_path, monkeypatch):
    monkeypatch.setenv("TITO_PARSE_CACHE", str(tmp_path / "cache"))
    parse(adder_course)
    src = adder_course / "src" / "01_adder" / "01_adder.py"
    src.write_text(src.read_text().replace("A tiny module used by the tests.", "Edited prose."))
    refuse_to_parse(monkeypatch)
    with pytest.raises(AssertionError, match="parsed again"):
        parse(adder_course)
