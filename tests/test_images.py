"""The image tag's content hash: stable when nothing changed, different when anything did."""

import os

import pytest

from scaffold.errors import ScaffoldError
from scaffold.images import context_hash, experiment_image


@pytest.fixture
def context(tmp_path):
    folder = tmp_path / "exp" / "docker"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "requirements.txt").write_text("six\n")
    return folder


def test_stable_for_same_content(context):
    assert context_hash(context, {}) == context_hash(context, {})


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "requirements.txt").write_text("six==1.17.0\n"),
        lambda c: (c / "extra.sh").write_text("echo\n"),
        lambda c: os.chmod(c / "requirements.txt", 0o755),
        lambda c: (c / "requirements.txt").rename(c / "reqs.txt"),
    ],
)
def test_any_change_changes_the_hash(context, change):
    before = context_hash(context, {})
    change(context)
    assert context_hash(context, {}) != before


def test_base_image_is_part_of_the_tag(context):
    plain = experiment_image(context.parent, "")
    mirrored = experiment_image(context.parent, "mirror/python:3.11")
    assert plain.build_args == {}
    assert mirrored.build_args == {"BASE_IMAGE": "mirror/python:3.11"}
    assert plain.tag != mirrored.tag
    assert plain.tag.startswith("exp:")


def test_missing_dockerfile_is_one_line(tmp_path):
    with pytest.raises(ScaffoldError, match="no Dockerfile"):
        context_hash(tmp_path, {})
