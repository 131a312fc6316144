"""config.env and .env parsing, with environment overrides."""

import pytest

from scaffold.config import Config, parse_env_file
from scaffold.errors import ScaffoldError


def test_parses_comments_quotes_and_export(tmp_path):
    env = tmp_path / "config.env"
    env.write_text("# c\n\nA=1\nexport B=\"two words\"\nC='x'  # trailing\nD=\n")
    assert parse_env_file(env) == {"A": "1", "B": "two words", "C": "x", "D": ""}


@pytest.mark.parametrize(
    "line, key, value",
    [
        ("DB_PASSWORD=abc#123", "DB_PASSWORD", "abc#123"),  # a # inside a value is not a comment
        ("A=a  b", "A", "a  b"),  # inner spaces kept as written
        ("C=it's", "C", "it's"),  # an apostrophe in an unquoted value
        ("D='$HOME ${HOME}'", "D", "$HOME ${HOME}"),  # literal, as docker --env-file
    ],
)
def test_values_are_read_as_written(tmp_path, line, key, value):
    """python-dotenv's rules (checked with python-dotenv 1.2.4), not a shell's: nothing is cut or refused."""
    env = tmp_path / ".env"
    env.write_text(f"{line}\n")
    assert parse_env_file(env) == {key: value}
    assert Config(tmp_path).secrets() == {key: value}


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


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "OK=1\n\n  KEY_WITHOUT_VALUE\n",
            r"\.env:3: expected KEY=VALUE, got a line without '=' \(not shown\)$",
        ),
        (
            'OK=1\nB="op3n-s3cret\nC=2\n',
            r"\.env:2: expected KEY=VALUE, got 'B=\.\.\.' \(value not shown\) \(a quote left open\?\)$",
        ),
    ],
)
def test_unreadable_lines_are_named_without_their_secrets(tmp_path, text, message):
    (tmp_path / ".env").write_text(text)
    with pytest.raises(ScaffoldError, match=message) as raised:
        Config(tmp_path).secrets()
    assert "s3cret" not in str(raised.value) and "KEY_WITHOUT" not in str(raised.value)


def test_missing_files_are_empty(tmp_path):
    assert Config(tmp_path).secrets() == {}
