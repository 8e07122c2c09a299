"""Settings: read once from the WBOK_* environment into a frozen dataclass."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QR_PAYEE_MAX = 20  # the payee field of the ZBP 2D transfer code


@dataclass(frozen=True)
class ISP:
    """The ISP's own data, printed on invoices and transfer forms."""

    name: str = "HLG Networks Sp. z o.o."
    # The payee in the transfer QR code, whose field holds 20 characters (ZBP 2D).
    short_name: str = "HLG Networks"
    street: str = "ul. Przykładowa 1"
    postal_code: str = "00-001"
    city: str = "Warszawa"
    nip: str = "5260250274"
    phone: str = "+48 22 000 00 00"
    email: str = "biuro@example.pl"
    # The ISP's own account (26 digits, NRB), printed on invoices.
    bank_account: str = "61109010140000071219812874"
    bank_name: str = "Santander Bank Polska"
    # Further accounts of the ISP whose statements may be imported (26 digits each); a
    # statement for any other account (MT940 :25:, a CSV's header) is refused.
    statement_accounts: tuple[str, ...] = ()
    # Virtual accounts: 8-digit bank routing number + this prefix + the customer ID,
    # zero-padded to 24 digits after the check digits.
    virtual_prefix: str = "10901014" "0001"
    invoice_series: str = "FV/{n}/{MM}/{YYYY}"
    # Corrective invoices (faktury korygujące) have their own gapless series.
    correction_series: str = "FK/{n}/{MM}/{YYYY}"
    payment_days: int = 14
    # A reminder goes out when charges this many days old are still unpaid.
    reminder_days: int = 14
    queues: tuple[str, ...] = ("office", "technical", "billing")
    # A ticket filed without a queue goes to the first queue whose keywords (beginnings of
    # words, any case) are in its subject or body, else to default_queue.
    default_queue: str = "office"
    queue_keywords: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "technical": ("internet", "połączeni", "router", "wifi", "wi-fi", "sygnał", "prędkoś", "łącz",
                      "awari", "nie działa", "zrywa", "ping", "modem", "antena"),
        "billing": ("faktur", "płatnoś", "wpłat", "przelew", "saldo", "zadłużeni", "nadpłat", "rachun"),
    })
    # Whether customers may request a new correspondence address in Informacje.
    allow_mail_address_change: bool = True
    # Optional: a queue's e-mail address, told about each new ticket in that queue.
    queue_emails: dict[str, str] = field(default_factory=dict)

    @property
    def payee_short(self) -> str:
        """The QR payee: `short_name`, or the full name when that fits in 20 characters."""
        return self.short_name or (self.name if len(self.name) <= QR_PAYEE_MAX else "")

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postal_code} {self.city}"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///wbok.sqlite3"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    smtp_url: str = "smtp://localhost:25"
    # Seconds to connect and for each SMTP command; a server that stalls costs no more.
    smtp_timeout: float = 10.0
    # Messages in flight at once, so one slow server cannot stall a run.
    smtp_pool: int = 4
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
    # KSeF: which invoices go ("b2b": buyers with a NIP, "all", "off"), where, and how.
    ksef_mode: str = "b2b"
    ksef_env: str = "test"
    ksef_token: str = ""
    # Only for a mirror or a proxy in front of KSeF; empty means the env's official address.
    ksef_api_url: str = ""
    # Invoices issued before this day are not sent (KSeF became mandatory on 2026-02-01).
    ksef_since: str = "2026-02-01"
    # The ISP's offline KSeF certificate (PEM files), for KOD II on offline invoices.
    ksef_offline_cert: str = ""
    # The offline mode used while KSeF cannot be reached: "offline24", or "awaria" while the
    # MF has announced a KSeF failure (a longer deadline).
    ksef_offline_mode: str = "offline24"
    ksef_offline_key: str = ""
    isp: ISP = field(default_factory=ISP)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))


def load_isp(path: str | os.PathLike[str] | None) -> ISP:
    """Read the [isp] table of the TOML file named by WBOK_CONFIG; defaults fill gaps."""
    if not path:
        return ISP()
    data = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("isp", {})
    for key in ("queues", "statement_accounts"):
        if key in data:
            data[key] = tuple(data[key])
    if "queue_keywords" in data:
        data["queue_keywords"] = {k: tuple(v) for k, v in data["queue_keywords"].items()}
    if "name" in data and "short_name" not in data:
        data["short_name"] = ""  # not the demo ISP's short name under another ISP's name
    if len(data.get("short_name", "")) > QR_PAYEE_MAX:
        raise ValueError(f"isp.short_name has more than {QR_PAYEE_MAX} characters: {data['short_name']!r}")
    if len(data.get("name", "")) > QR_PAYEE_MAX and not data.get("short_name", ISP.short_name):
        raise ValueError(f"isp.name has more than {QR_PAYEE_MAX} characters: set isp.short_name "
                         "for the payee in transfer QR codes")
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
        smtp_timeout=float(env.get("WBOK_SMTP_TIMEOUT", base.smtp_timeout)),
        smtp_pool=max(1, int(env.get("WBOK_SMTP_POOL", base.smtp_pool))),
        base_url=env.get("WBOK_BASE_URL", base.base_url).rstrip("/"),
        secure_cookies=_flag(env.get("WBOK_SECURE_COOKIES"), False),
        session_idle_minutes=int(env.get("WBOK_SESSION_IDLE_MINUTES", "30")),
        session_max_hours=float(env.get("WBOK_SESSION_MAX_HOURS", "12")),
        trusted_proxies=parse_networks(env.get("WBOK_TRUSTED_PROXIES", "")),
        scheduler=_flag(env.get("WBOK_SCHEDULER"), True),
        collector_token=env.get("WBOK_COLLECTOR_TOKEN", ""),
        traffic_retention_days=int(env.get("WBOK_TRAFFIC_RETENTION_DAYS", "90")),
        db_pool_size=int(env.get("WBOK_DB_POOL_SIZE", "10")),
        ksef_mode=env.get("WBOK_KSEF_MODE", base.ksef_mode).strip().lower(),
        ksef_env=env.get("WBOK_KSEF_ENV", base.ksef_env).strip().lower(),
        ksef_token=env.get("WBOK_KSEF_TOKEN", ""),
        ksef_api_url=env.get("WBOK_KSEF_API_URL", ""),
        ksef_since=env.get("WBOK_KSEF_SINCE", base.ksef_since),
        ksef_offline_mode=env.get("WBOK_KSEF_OFFLINE_MODE", base.ksef_offline_mode).strip().lower(),
        ksef_offline_cert=env.get("WBOK_KSEF_OFFLINE_CERT", ""),
        ksef_offline_key=env.get("WBOK_KSEF_OFFLINE_KEY", ""),
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
