from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callcenter.crm.app import create_app
from callcenter.crm.settings import Settings
from callcenter.events.kit.migrations import upgrade

KEY = "crm-tests-signing-key-of-32-bytes-or-more!"


@pytest.fixture
def crm_settings(database_url, kafka, tmp_path):
    upgrade("callcenter.crm", database_url)

    def make(**options) -> Settings:
        return Settings(
            database_url=database_url, kafka=kafka, data_dir=tmp_path, signing_key=KEY, **options
        )

    return make


@pytest.fixture
def crm(crm_settings):
    """A CRM app without its consumers (customer API tests do not need the IVR)."""

    def start(**options) -> TestClient:
        return TestClient(create_app(crm_settings(run_consumers=False, **options)))

    return start
