"""The import contract (.importlinter) holds, and it catches a domain that reads another's
tables: the same check as `make test`'s lint-imports, so a violation fails pytest too."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contract_is_kept():
    done = _lint_imports(ROOT, ROOT / "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_domain_importing_another_domains_tables_breaks_the_contract(tmp_path):
    # Given a copy of the tree where stats reads geo's table directly
    shutil.copytree(ROOT / "src" / "civicgrid", tmp_path / "src" / "civicgrid")
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    stats = tmp_path / "src" / "civicgrid" / "stats" / "service.py"
    stats.write_text(
        stats.read_text(encoding="utf-8") + "\nfrom civicgrid.geo.models import Area  # noqa\n",
        encoding="utf-8",
    )
    # When the contract is checked
    done = _lint_imports(tmp_path, tmp_path / "src")
    # Then it is broken, naming the import
    assert done.returncode != 0
    assert "civicgrid.stats.service -> civicgrid.geo.models" in done.stdout
