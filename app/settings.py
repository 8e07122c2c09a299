"""Settings: read once from the WBOK_* environment into a frozen dataclass."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ISP:
    """The ISP's own data, printed on invoices and transfer forms."""

    name: str = "HLG Networks Sp. z o.o."
    street: str = "ul. Przykładowa 1"
    postal_code: str = "00-001"
    city: str = "Warszawa"
    nip: str = "5260250274"
    phone: str = "+48 22 000 00 00"
    email: str = "biuro@example.pl"
    # The ISP's own account (26 digits, NRB), printed on invoices.
    bank_account: str = "61109010140000071219812874"
    bank_name: str = "Santander Bank Polska"
    # Virtual accounts: 8-digit bank routing number + this prefix + the customer ID,
    # zero-padded to 24 digits after the check digits.
    virtual_prefix: str = "10901014" "0001"
    invoice_series: str = "FV/{n}/{MM}/{YYYY}"
    payment_days: int = 14
    # A reminder goes out when charges this many days old are still unpaid.
    reminder_days: int = 14
    queues: tuple[str, ...] = ("office", "technical", "billing")
    # Whether customers may request a new correspondence address in Informacje.
    allow_mail_address_change: bool = True
    # Optional: a queue's e-mail address, told about each new ticket in that queue.
    queue_emails: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///wbok.sqlite3"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    smtp_url: str = "smtp://localhost:25"
    mail_from: str = "WBOK <wbok@localhost>"
    base_url: str = "http://localhost:8000"
    secure_cookies: bool = False
    session_idle_minutes: int = 30
    # A session ends this long after login, however busy it is.
    session_max_hours: float = 12
    # Proxies whose X-Forwarded-For is believed (addresses or CIDRs); none by default.
    trusted_proxies: tuple = ()
    scheduler: bool = True
    collector_token: str = ""
    traffic_retention_days: int = 90
    # PostgreSQL connection pool per process; 0 opens a connection per query (tests,
    # whose client runs the app on another event loop than the fixtures).
    db_pool_size: int = 10
    isp: ISP = field(default_factory=ISP)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))


def load_isp(path: str | os.PathLike[str] | None) -> ISP:
    """Read the [isp] table of the TOML file named by WBOK_CONFIG; defaults fill gaps."""
    if not path:
        return ISP()
    data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("isp", {})
    if "queues" in data:
        data["queues"] = tuple(data["queues"])
    return ISP(**data)


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    base = Settings()
    return Settings(
        database_url=env.get("WBOK_DATABASE_URL", base.database_url),
        # Without a key each process makes its own; `wbok serve` keeps one (app/secret.py).
        secret_key=env.get("WBOK_SECRET_KEY") or base.secret_key,
        smtp_url=env.get("WBOK_SMTP_URL", base.smtp_url),
        mail_from=env.get("WBOK_MAIL_FROM", base.mail_from),
        base_url=env.get("WBOK_BASE_URL", base.base_url).rstrip("/"),
        secure_cookies=_flag(env.get("WBOK_SECURE_COOKIES"), False),
        session_idle_minutes=int(env.get("WBOK_SESSION_IDLE_MINUTES", "30")),
        session_max_hours=float(env.get("WBOK_SESSION_MAX_HOURS", "12")),
        trusted_proxies=parse_networks(env.get("WBOK_TRUSTED_PROXIES", "")),
        scheduler=_flag(env.get("WBOK_SCHEDULER"), True),
        collector_token=env.get("WBOK_COLLECTOR_TOKEN", ""),
        traffic_retention_days=int(env.get("WBOK_TRAFFIC_RETENTION_DAYS", "90")),
        db_pool_size=int(env.get("WBOK_DB_POOL_SIZE", "10")),
        isp=load_isp(env.get("WBOK_CONFIG")),
    )


def parse_networks(text: str) -> tuple:
    """WBOK_TRUSTED_PROXIES: addresses or CIDRs, separated by commas or spaces."""
    import ipaddress

    return tuple(ipaddress.ip_network(part, strict=False)
                 for part in text.replace(",", " ").split())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
