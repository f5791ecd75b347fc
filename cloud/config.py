"""The HQ service's settings, from SMARTSTORE_CLOUD_* environment variables or an env file."""

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.const import MIN_ADMIN_TOKEN_LEN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTSTORE_CLOUD_", extra="ignore")

    # SQLite for a laptop; PostgreSQL (postgresql+psycopg://…) for HQ.
    database_url: str = "sqlite:///./cloud.sqlite3"
    # Bearer token of HQ's administrators: registers stores, issues and revokes their tokens.
    admin_token: SecretStr
    # Sales metrics for Grafana (cloud/sales_influx.py); empty URL: not exported.
    influx_url: str = ""
    influx_token: SecretStr = SecretStr("")
    influx_org: str = "smartstore"
    influx_bucket: str = "smartstore"  # InfluxDB 1.x: "database/retention_policy"
    sales_lookback_s: float = 7 * 86400

    @model_validator(mode="after")
    def _refuse_weak_admin_token(self) -> Self:
        if len(self.admin_token.get_secret_value()) < MIN_ADMIN_TOKEN_LEN:
            raise ValueError(
                f"SMARTSTORE_CLOUD_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} chars"
            )
        return self
