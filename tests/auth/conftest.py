import pytest

from civicgrid.config import get_settings


@pytest.fixture(autouse=True)
def _short_sign_in_delay(monkeypatch):
    """The slow-down after failed sign-ins, cut to 50 ms: tests that measure it set their own."""
    monkeypatch.setenv("CIVICGRID_LOGIN_DELAY_MAX_SECONDS", "0.05")
    get_settings.cache_clear()
