"""`steward grades export --charts DIR`: two valid PNG files next to the CSV/XLSX export, and clear
errors (exit 1) for an unknown training or a folder that cannot be written (R6.3.1)."""
from __future__ import annotations

import importlib.util
import struct

import pytest

from tests.e2e.test_assessment_cli import SCHEME, env, run  # noqa: F401  (env is a fixture)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
needs_matplotlib = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                      reason="matplotlib is not installed (pip install 'matplotlib>=3.8')")


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"   # the first chunk: length (4 bytes), type, then width and height
    return struct.unpack(">II", data[16:24])


@needs_matplotlib
def test_charts_are_written_as_png_alongside_the_export(env, tmp_path):  # noqa: F811
    path = tmp_path / "scheme.yaml"
    path.write_text(SCHEME, encoding="utf-8")
    assert run(env, "scheme", "set", "onboarding", str(path)).exit_code == 0
    folder = tmp_path / "charts" / "nested"
    out = tmp_path / "grades.xlsx"
    result = run(env, "grades", "export", "onboarding", "--format", "xlsx", "-o", str(out), "--charts", str(folder))
    assert result.exit_code == 0, result.output
    assert out.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["completion-per-group.png", "score-distribution.png"]
    for name in ("score-distribution.png", "completion-per-group.png"):
        width, height = png_size(folder / name)
        assert width > 0 and height > 0
    result = run(env, "grades", "export", "onboarding", "--charts", str(folder))   # CSV to stdout, charts again
    assert result.exit_code == 0 and result.stdout.startswith("rank,name")
    assert png_size(folder / "score-distribution.png")[0] > 0


def test_charts_of_an_unknown_training_fail_clearly(env, tmp_path):  # noqa: F811
    folder = tmp_path / "charts"
    result = run(env, "grades", "export", "nope", "--charts", str(folder))
    assert result.exit_code == 1 and "no training 'nope'" in result.output
    assert not folder.exists()


@needs_matplotlib
def test_charts_into_a_file_fail_clearly_and_write_nothing(env, tmp_path):  # noqa: F811
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder", encoding="utf-8")
    out = tmp_path / "g.csv"
    result = run(env, "grades", "export", "onboarding", "-o", str(out), "--charts", str(blocker))
    assert result.exit_code == 1 and "cannot write the charts to" in result.output
    assert not out.exists()
