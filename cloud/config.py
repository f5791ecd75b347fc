"""The HQ service's settings, from SMARTSTORE_CLOUD_* environment variables or an env file."""

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.const import (
    DOUBLE_REDEEM_FLAG,
    MIN_ADMIN_TOKEN_LEN,
    MIN_MEMBER_KEY_LEN,
    STORE_REQUEST_SWEEP_S,
    DoubleRedeemPolicy,
)
from contract.store_requests import POLL_WAIT_S


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTSTORE_CLOUD_", extra="ignore")

    # SQLite for a laptop; PostgreSQL (postgresql+psycopg://…) for HQ.
    database_url: str = "sqlite:///./cloud.sqlite3"
    # Bearer token of HQ's administrators: registers stores, issues and revokes their tokens.
    admin_token: SecretStr
    # The chain's member key: phone numbers are known only as HMAC-SHA256 under it
    # (contract.members.phone_hash). Every hub of the chain has the same key; changing it
    # orphans every member's phone hash, so it is set once.
    member_key: SecretStr
    # A coupon redeemed twice while stores were offline: flagged as a risk, or honoured.
    double_redeem_policy: DoubleRedeemPolicy = DOUBLE_REDEEM_FLAG
    # Sales metrics for Grafana (cloud/sales_influx.py); empty URL: not exported.
    influx_url: str = ""
    influx_token: SecretStr = SecretStr("")
    influx_org: str = "smartstore"
    influx_bucket: str = "smartstore"  # InfluxDB 1.x: "database/retention_policy"
    sales_lookback_s: float = 7 * 86400
    # How long HQ's booking API waits for the store's hub to answer before it says the hub is
    # not reachable (cloud/api/store_requests.py).
    store_request_wait_s: float = Field(default=8.0, gt=0, le=60)
    # The longest HQ holds a hub's long poll open (GET /api/v1/store-requests?wait=), below
    # the idle timeout of any proxy in front of HQ (at most the hubs' 20 s: a hub not heard
    # from for 35 s, STORE_POLLING_WITHIN_S, is not reachable).
    store_poll_hold_s: float = Field(default=POLL_WAIT_S, ge=0, le=POLL_WAIT_S)
    # How often (at most, per worker) HQ expires booking requests nobody will finish and masks
    # their phone numbers (cloud/api/store_requests.py, `forget_stale_phones`).
    store_request_sweep_s: float = Field(default=STORE_REQUEST_SWEEP_S, ge=0)

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Self:
        if len(self.admin_token.get_secret_value()) < MIN_ADMIN_TOKEN_LEN:
            raise ValueError(
                f"SMARTSTORE_CLOUD_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LEN} chars"
            )
        if len(self.member_key.get_secret_value()) < MIN_MEMBER_KEY_LEN:
            raise ValueError(
                f"SMARTSTORE_CLOUD_MEMBER_KEY must be at least {MIN_MEMBER_KEY_LEN} chars"
            )
        return self

    def member_key_bytes(self) -> bytes:
        """The key as contract.members.phone_hash takes it (the hubs encode theirs alike)."""
        return self.member_key.get_secret_value().encode()
