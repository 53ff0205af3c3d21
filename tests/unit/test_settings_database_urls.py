"""Each service's database URL: its own variable when set, else DATABASE_URL."""

from __future__ import annotations

import pytest

from lif.settings import DATABASE_SERVICES, ConfigurationError, Settings


def test_a_service_uses_its_own_url_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://shared@db/lif")
    monkeypatch.setenv("LIF_DECISIONING_DATABASE_URL", "postgresql://lif_decisioning@db/lif")
    settings = Settings()
    assert settings.database_url_for("decisioning") == "postgresql://lif_decisioning@db/lif"
    assert settings.database_url_for("intake") == "postgresql://shared@db/lif"


def test_every_service_falls_back_to_database_url() -> None:
    settings = Settings(database_url="postgresql://one@db/lif", service_database_urls={})
    assert {settings.database_url_for(s) for s in DATABASE_SERVICES} == {"postgresql://one@db/lif"}


def test_no_url_at_all_names_both_variables() -> None:
    settings = Settings(database_url=None, service_database_urls={})
    with pytest.raises(ConfigurationError, match="LIF_PROJECTIONS_DATABASE_URL nor DATABASE_URL"):
        settings.database_url_for("projections")


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service 'inbox'"):
        Settings(database_url="postgresql://one@db/lif").database_url_for("inbox")
