from pathlib import Path

from pydantic_settings import SettingsConfigDict

from callcenter.events.kit.settings import ServiceSettings


class QueueSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CALLCENTER_QUEUE_", extra="ignore")

    service: str = "queue"
    port: int = 8009


def test_per_service_variables_carry_the_service_prefix(monkeypatch):
    monkeypatch.setenv("CALLCENTER_QUEUE_PORT", "9100")
    monkeypatch.setenv("CALLCENTER_QUEUE_DATABASE_URL", "postgresql://db/queue")
    monkeypatch.setenv("CALLCENTER_OTHER_PORT", "9200")

    settings = QueueSettings()

    assert settings.port == 9100
    assert settings.resolved_database_url() == "postgresql://db/queue"


def test_what_all_services_share_has_one_name(monkeypatch):
    monkeypatch.setenv("CALLCENTER_KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("CALLCENTER_KAFKA_PARTITIONS", "12")
    monkeypatch.setenv("CALLCENTER_DATA_DIR", "/srv/callcenter")
    monkeypatch.setenv("CALLCENTER_SIGNING_KEY", "a-shared-signing-key-for-every-service")

    settings = QueueSettings()

    assert settings.kafka.bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.kafka.partitions == 12
    assert settings.signing_key.get_secret_value() == "a-shared-signing-key-for-every-service"
    assert settings.resolved_database_url() == "sqlite:////srv/callcenter/queue.db"
    assert settings.resolved_signing_key_file() == Path("/srv/callcenter/dev-signing-key")


def test_defaults_run_on_one_machine(monkeypatch):
    for name in ("CALLCENTER_KAFKA_BOOTSTRAP_SERVERS", "CALLCENTER_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)

    settings = QueueSettings()

    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.resolved_database_url() == "sqlite:///var/queue.db"
    assert settings.kafka.enable_idempotence is False
