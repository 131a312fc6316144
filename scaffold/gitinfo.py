"""What git says about the code being shipped: the commit, and whether the shipped folders differ from it."""

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GitInfo:
    """`commit` is empty and `dirty` is None when git (or the repository) is not available."""

    commit: str = ""
    dirty: bool | None = None

    @property
    def short(self) -> str:
        return self.commit[:7]

    def tags(self) -> dict[str, str]:
        """Job tags: git_commit and git_dirty ("unknown" without git)."""
        dirty = "unknown" if self.dirty is None else str(self.dirty).lower()
        return {"git_commit": self.commit or "unknown", "git_dirty": dirty}


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def describe(root: Path, paths: list[Path] | None = None) -> GitInfo:
    """HEAD's commit, and whether `paths` (default: the whole tree) have changes, staged or untracked files;
    ignored ones (caches, data/, mlruns/) do not count."""
    commit = (_git(root, "rev-parse", "--verify", "-q", "HEAD") or "").strip()
    if not commit:
        return GitInfo()
    specs = [str(p.relative_to(root)) if p.is_absolute() else str(p) for p in (paths or [])]
    status = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", *specs)
    return GitInfo(commit, None if status is None else bool(status.strip()))
