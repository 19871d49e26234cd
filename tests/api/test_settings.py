"""Settings: environment prefix, stage limits, and refusing an insecure secret."""

from __future__ import annotations

import subprocess
import sys

import pytest

from api.app import create_app
from api.settings import Settings
from tests.conftest import ROOT


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every field is read from PATROLGRID_<NAME>; JSON objects parse into dicts."""
    monkeypatch.setenv("PATROLGRID_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("PATROLGRID_STAGE_LIMITS_S", '{"reported": 60}')
    monkeypatch.setenv("PATROLGRID_MAX_BATCH", "50")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.stage_limits_s == {"reported": 60}
    assert settings.max_batch == 50


def test_nonpositive_stage_limit_is_refused() -> None:
    """A stage limit of zero or less is a settings error naming the variable."""
    with pytest.raises(ValueError, match="PATROLGRID_STAGE_LIMITS_S"):
        Settings(stage_limits_s={"reported": 0})


@pytest.mark.parametrize("secret", ["", "change-me", "tiny-7q"])
def test_insecure_secret_refuses_to_start(secret: str) -> None:
    """Outside dev mode an empty, default or short secret stops create_app; dev mode allows it."""
    with pytest.raises(RuntimeError, match="PATROLGRID_SECRET") as info:
        create_app(Settings(secret=secret, dev=False, database_url="sqlite://"))
    if secret:
        assert secret not in str(info.value).replace("PATROLGRID_SECRET", "")
    create_app(Settings(secret=secret, dev=True, database_url="sqlite://"))


def test_secret_never_in_repr() -> None:
    """The secret does not appear in the settings' repr (and so not in logs)."""
    settings = Settings(secret="a-very-long-secret-value-123", database_url="sqlite://")
    assert "a-very-long-secret-value-123" not in repr(settings)
    assert "a-very-long-secret-value-123" not in str(settings.model_dump())


def test_serve_refuses_insecure_secret_with_one_line(tmp_path: object) -> None:
    """`patrolgrid serve` without a secret exits 2 with a one-line error, no traceback."""
    env = {"PATH": "/usr/bin:/bin", "PATROLGRID_DATABASE_URL": "sqlite://", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "PATROLGRID_SECRET" in done.stderr
    assert "Traceback" not in done.stderr
