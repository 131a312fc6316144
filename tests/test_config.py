"""config.env and .env parsing, with environment overrides."""

import pytest

from scaffold.config import Config, parse_env_file
from scaffold.errors import ScaffoldError


def test_parses_comments_quotes_and_export(tmp_path):
    env = tmp_path / "config.env"
    env.write_text("# c\n\nA=1\nexport B=\"two words\"\nC='x'  # trailing\nD=\n")
    assert parse_env_file(env) == {"A": "1", "B": "two words", "C": "x", "D": ""}


def test_environment_overrides_file_and_empty_falls_back(tmp_path, monkeypatch):
    (tmp_path / "config.env").write_text("WORKSPACE=from-file\nCOMPUTE=cpu\n")
    monkeypatch.setenv("WORKSPACE", "from-env")
    monkeypatch.setenv("COMPUTE", "")
    config = Config(tmp_path)
    assert config.get("WORKSPACE") == "from-env"
    assert config.get("COMPUTE") == "cpu"
    assert config.get("MISSING", "default") == "default"


def test_malformed_line_is_named(tmp_path):
    env = tmp_path / ".env"
    env.write_text("OK=1\nthis is not a setting\n")
    with pytest.raises(ScaffoldError, match=r"\.env:2: expected KEY=VALUE"):
        parse_env_file(env)


def test_missing_files_are_empty(tmp_path):
    assert Config(tmp_path).secrets() == {}
