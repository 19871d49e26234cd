"""The service's configuration: one pydantic-settings class, read from ``PATROLGRID_*``.

Libraries (``geo``, ``planner``, ``maps``) never read the environment; the service reads it
here once and passes explicit arguments on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_STAGE_LIMITS_S", "INSECURE_SECRETS", "Settings", "get_settings"]

#: How long an incident may stay in each open stage before it is listed as overdue.
DEFAULT_STAGE_LIMITS_S: dict[str, int] = {
    "reported": 30 * 60,
    "verified": 30 * 60,
    "accepted": 60 * 60,
    "dispatched": 4 * 3600,
    "handled": 24 * 3600,
    "rechecked": 24 * 3600,
    "reopened": 60 * 60,
    "returned": 30 * 60,
}

#: Secrets that are as good as none: the service refuses to start with them outside dev mode.
INSECURE_SECRETS: frozenset[str] = frozenset({"", "change-me", "changeme", "secret", "dev"})


class Settings(BaseSettings):
    """Every setting of the service; each field is read from ``PATROLGRID_<NAME>``.

    Examples
    --------
    >>> Settings(database_url="sqlite:///x.db", dev=True).database_url
    'sqlite:///x.db'
    """

    model_config = SettingsConfigDict(env_prefix="PATROLGRID_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///patrolgrid.db",
        description="SQLAlchemy URL: a SQLite file by default, or postgresql+psycopg://... (PostGIS).",
    )
    db_schema: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$",
        description="PostgreSQL only: schema put first on the search path (PostGIS stays in public).",
    )
    secret: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key signing bearer tokens; an empty or default one refuses to start unless dev.",
    )
    dev: bool = Field(default=False, description="Development mode: allows an insecure secret.")
    timezone: str = Field(default="Asia/Shanghai", description="The city's time zone (IANA name).")
    max_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_batch: int = Field(
        default=10_000, ge=1, description="Most incidents in one POST /incidents."
    )
    stage_limits_s: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_STAGE_LIMITS_S),
        description="Seconds an incident may stay in each stage before it is overdue (JSON object).",
    )
    token_ttl_s: int = Field(
        default=12 * 3600, ge=60, description="Lifetime of a new token (default 12 hours)."
    )
    network_path: Path | None = Field(
        default=None, description="Street network file (.osm/.osm.pbf/.graphml) used for plans."
    )
    network_cache_dir: Path | None = Field(default=None, description="Cache folder for networks.")
    categories: str | None = Field(
        default=None,
        min_length=1,
        description="Category table plans read police-only categories and skills from: a shipped "
        "table (philadelphia_ucr, chicago_iucr, nibrs, china_police) or a YAML/CSV file; "
        "default: every shipped table (police-only flags, no skills).",
    )
    plan_time_limit_s: float = Field(default=10.0, gt=0, description="Solver time per plan.")
    plan_scheduler: str | None = Field(
        default=None,
        min_length=1,
        description="Dask scheduler address (tcp://host:8786) solving POST /plans jobs on its "
        "workers (the [scale] extra); none: solved in this process.",
    )
    plan_scheduler_timeout_s: float = Field(
        default=10.0, gt=0, description="How long startup waits for the plan scheduler to answer."
    )
    plan_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Plan jobs run at once by this process (threads); default 1, or with a "
        "scheduler its worker threads at startup.",
    )
    sql_echo: bool = Field(default=False, description="Log SQL statements (never parameters).")
    # Residents and departments (docs/residents.md).
    open311_services_path: Path | None = Field(
        default=None, description="Open311 service list (YAML); default api/data/open311.yaml."
    )
    open311_key_rate: int = Field(
        default=30, ge=1, description="Open311 posts allowed per api_key per rate window."
    )
    open311_address_rate: int = Field(
        default=10, ge=1, description="Open311 posts allowed per client address per rate window."
    )
    open311_read_rate: int = Field(
        default=600, ge=1, description="Open311 reads allowed per client address per rate window."
    )
    open311_public_reads: bool = Field(
        default=True,
        description="Open311 GET requests without api_key (the spec's default); off: key needed.",
    )
    open311_rate_window_s: float = Field(
        default=3600.0, gt=0, description="Length of the Open311 rate-limit window in seconds."
    )
    departments_path: Path | None = Field(
        default=None,
        description="Departments and SLA stage limits (YAML); default api/data/departments.yaml.",
    )
    sla_interval_s: float = Field(
        default=60.0, ge=0, description="Seconds between SLA sweeps in the server (0: none)."
    )
    sla_webhook_url: str | None = Field(
        default=None, description="URL receiving escalation webhooks (POST, signed JSON)."
    )
    sla_webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC-SHA256 key signing webhook bodies."
    )
    sla_webhook_attempts: int = Field(
        default=6, ge=1, le=50, description="Delivery attempts before a webhook is marked failed."
    )
    sla_webhook_backoff_s: float = Field(
        default=30.0, gt=0, description="First retry delay; doubled after each failed attempt."
    )
    sla_webhook_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one webhook request."
    )
    reopen_at_or_below: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="A rating at or below this re-opens the incident automatically (none: off).",
    )

    @field_validator("plan_scheduler", mode="before")
    @classmethod
    def _no_empty_scheduler(cls, value: object) -> object:
        """``PATROLGRID_PLAN_SCHEDULER=`` (empty) means none, as when it is unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("stage_limits_s")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {k: v for k, v in value.items() if v <= 0}
        if bad:
            msg = f"PATROLGRID_STAGE_LIMITS_S: limits must be positive seconds, got {bad}"
            raise ValueError(msg)
        return value

    @property
    def secret_is_insecure(self) -> bool:
        """True when the secret is empty, a well-known default, or shorter than 16 characters."""
        value = self.secret.get_secret_value()
        return value in INSECURE_SECRETS or len(value) < 16

    def check_startable(self) -> None:
        """Refuse to serve with an insecure secret outside dev mode.

        Raises
        ------
        RuntimeError
            Naming the setting to fix (never its value).
        """
        if self.secret_is_insecure and not self.dev:
            msg = (
                "PATROLGRID_SECRET is empty, a default or shorter than 16 characters; "
                "set a long random secret (or PATROLGRID_DEV=1 for development only)"
            )
            raise RuntimeError(msg)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read from the environment once per process."""
    return Settings()
