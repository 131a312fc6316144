"""`template`: rebuild experiment_template.zip from experiment_template/."""

from scaffold.config import repo_and_config
from scaffold.template import build_zip


def run(args) -> int:
    repo, _ = repo_and_config()
    count = build_zip(repo.root / "experiment_template", repo.template_zip)
    print(f"wrote {repo.template_zip.name} ({count} files)")
    return 0
