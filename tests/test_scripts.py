"""The README's set-up commands, run as a reader would: with the arguments the README shows."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_demo_command_takes_its_documented_arguments(tmp_path: Path) -> None:
    """`scripts/demo --scale … FILE` builds the demo (its arguments never reach pip) and reports it reconciled."""
    target = tmp_path / "demo.db"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo"), "--scale", "0.001", str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "InvalidRequirement" not in done.stderr
    assert "everything reconciles" in done.stdout
    assert target.exists()
