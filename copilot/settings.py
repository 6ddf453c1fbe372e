"""Settings for every part of the product, read from environment variables.

Each setting has a documented default so the product runs with nothing set:
SQLite in a data folder, the offline planner, an outbox folder for delivery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

__all__ = ["Settings", "get_settings", "SETTINGS_DOC"]


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError as exc:
        from copilot.errors import ConfigError

        raise ConfigError(f"{name} must be a number, got {raw!r}", setting=name) from exc


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError as exc:
        from copilot.errors import ConfigError

        raise ConfigError(f"{name} must be a whole number, got {raw!r}", setting=name) from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "1" if default else "0").lower()
    return raw in {"1", "true", "yes", "on"}


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _env(name, default).lower()
    if raw not in choices:
        from copilot.errors import ConfigError

        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}", setting=name)
    return raw


def _env_networks(name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or CIDR networks, each checked (a typo must not trust the world)."""
    import ipaddress

    out = []
    for part in os.environ.get(name, "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as exc:
            from copilot.errors import ConfigError

            raise ConfigError(f"{name}: {part!r} is not an IP address or network like 10.0.0.0/8",
                              setting=name) from exc
    return tuple(out)


def _env_limit(name: str, default: str) -> tuple[int, int]:
    """"FAILURES/SECONDS", both whole numbers of at least 1."""
    raw = _env(name, default)
    count, _, seconds = raw.partition("/")
    if count.strip().isdigit() and seconds.strip().isdigit() and int(count) >= 1 and int(seconds) >= 1:
        return int(count), int(seconds)
    from copilot.errors import ConfigError

    raise ConfigError(f"{name} must be FAILURES/SECONDS such as 5/900, got {raw!r}", setting=name)
def _control_percent() -> float:
    value = _env_float("COPILOT_CONTROL_PERCENT", 10.0)
    if not 0 <= value <= 50:
        from copilot.errors import ConfigError

        raise ConfigError(f"COPILOT_CONTROL_PERCENT must be between 0 and 50, got {value:g}",
                          setting="COPILOT_CONTROL_PERCENT")
    return value


# name -> (default as shown to users, meaning). Kept beside the dataclass and
# checked by a test so the README table cannot drift from the code.
SETTINGS_DOC: dict[str, tuple[str, str]] = {
    "COPILOT_DATA_DIR": ("./data", "folder for the SQLite file, outbox and caches"),
    "DATABASE_URL": ("sqlite:///$COPILOT_DATA_DIR/copilot.db", "SQLAlchemy URL; postgresql+psycopg://... for PostgreSQL"),
    "COPILOT_WORKSPACE_DIR": ("the bundled demo brand", "brand folder loaded as the default workspace"),
    "COPILOT_HOST": ("127.0.0.1", "address `copilot serve` binds"),
    "COPILOT_PORT": ("8000", "port `copilot serve` binds"),
    "COPILOT_SECRET_KEY": ("random per data folder", "secret for CSRF and sessions; stored in the data folder when unset"),
    "COPILOT_DEMO_PASSWORD": ("demo", "password of the demo users `marketer`, `reviewer`, `admin`"),
    "COPILOT_SECURE_COOKIES": ("0", "1 marks session cookies Secure (serve behind HTTPS)"),
    "COPILOT_TRUSTED_PROXIES": ("unset", "comma-separated addresses or networks (CIDR) of reverse proxies whose `X-Forwarded-For` names the client; unset: the header is ignored and the direct peer is the client"),
    "COPILOT_LOGIN_LIMIT_PER_ADDRESS": ("10/60", "failed log-ins allowed from one client address per window, as FAILURES/SECONDS; more are refused (429 with Retry-After) until the window ends"),
    "COPILOT_LOGIN_LIMIT_PER_ACCOUNT": ("5/900", "failed log-ins allowed for one username per window, as FAILURES/SECONDS, whatever address they come from"),
    "OPENAI_API_KEY": ("unset", "API key; with no key and no base URL the offline planner answers"),
    "OPENAI_BASE_URL": ("unset", "any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server)"),
    "COPILOT_MODEL": ("gpt-4o-mini", "model name sent to the endpoint"),
    "COPILOT_LLM_TIMEOUT": ("60", "seconds before a model call times out"),
    "COPILOT_LLM_RETRIES": ("2", "retries on 429, 5xx and connection errors"),
    "COPILOT_LLM_CONCURRENCY": ("4", "copy-writing calls in flight at once"),
    "COPILOT_LLM_STALL_TIMEOUT": ("20", "seconds a streamed answer may go silent before the turn falls back to the offline plan"),
    "COPILOT_LLM_MAX_OUTPUT_TOKENS": ("4000", "most tokens one model answer may have (max_completion_tokens); a longer one is cut off and repaired"),
    "COPILOT_LLM_FALLBACK": ("offline", "what answers when the model fails: offline (the playbook plan, with a note) or none (the turn ends with an error)"),
    "COPILOT_CONTEXT_BUDGET": ("12000", "prompt tokens per request before older turns are condensed"),
    "COPILOT_PRICE_PROMPT_PER_MTOK": ("0.15", "USD per million prompt tokens, for cost estimates"),
    "COPILOT_PRICE_COMPLETION_PER_MTOK": ("0.60", "USD per million completion tokens, for cost estimates"),
    "REDIS_URL": ("unset", "Redis URL for the job queue (several app instances and workers); unset: Huey's SQLite file in the data folder"),
    "COPILOT_WORKERS": ("2", "worker processes `copilot worker` runs"),
    "COPILOT_TRANSPORT": ("outbox", "how mail leaves: outbox (.eml files in $COPILOT_DATA_DIR/outbox) or smtp (the relay below)"),
    "COPILOT_OUTBOX_DIR": ("$COPILOT_DATA_DIR/outbox", "folder the outbox transport writes one .eml file per message into"),
    "COPILOT_SMTP_HOST": ("127.0.0.1", "SMTP relay host"),
    "COPILOT_SMTP_PORT": ("587", "SMTP relay port"),
    "COPILOT_SMTP_SECURITY": ("starttls", "starttls, tls (implicit TLS, usually port 465) or none"),
    "COPILOT_SMTP_USERNAME": ("unset", "SMTP login; with no username no login is attempted"),
    "COPILOT_SMTP_PASSWORD": ("unset", "SMTP password"),
    "COPILOT_SMTP_TIMEOUT": ("30", "seconds an SMTP connection or reply may take"),
    "COPILOT_SEND_RETRIES": ("5", "attempts after a temporary (4xx or connection) failure before a message is marked failed"),
    "COPILOT_SEND_BACKOFF": ("60", "seconds before the first retry; doubled on each further retry"),
    "COPILOT_SEND_CONNECTIONS": ("2", "send jobs one campaign runs at once, each with its own SMTP connection"),
    "COPILOT_CONTROL_PERCENT": ("10", "share of each campaign's audience held out as a control group (0 to 50)"),
    "COPILOT_PUBLIC_URL": ("http://$COPILOT_HOST:$COPILOT_PORT", "address recipients reach this server at (unsubscribe links); use https in production"),
    "COPILOT_UNSUBSCRIBE_DAYS": ("90", "days an unsubscribe link in a sent message keeps working"),
    "COPILOT_MAX_REQUEST_BYTES": ("2000000", "largest request body the server reads (JSON API and web pages); "
                                  "a larger one is answered 413 before any handler runs"),
    "COPILOT_REQUIRE_POSTGRES": ("0", "1 makes PostgreSQL tests fail instead of skip when the server is unreachable"),
    "COPILOT_TEST_POSTGRES_URL": ("postgresql+psycopg://postgres@127.0.0.1:5432/test", "server the PostgreSQL tests use"),
    "COPILOT_SCHEMATHESIS_EXAMPLES": ("15", "examples per API operation and input mode (valid, invalid) the schemathesis test generates; more finds more and takes longer"),
    "COPILOT_REQUIRE_REDIS": ("0", "1 makes the Redis job-queue tests fail instead of skip when the server is unreachable"),
    "COPILOT_TEST_REDIS_URL": ("redis://127.0.0.1:6379/0", "server the Redis job-queue tests use"),
    "COPILOT_REQUIRE_LOCAL_MODEL": ("0", "1 makes the real-model tests (tests/local_model) fail instead of skip when the local server cannot start"),
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path
    database_url: str
    workspace_dir: Path | None
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str | None = None
    demo_password: str = "demo"
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    login_limit_per_address: tuple[int, int] = (10, 60)  # (failures, window seconds)
    login_limit_per_account: tuple[int, int] = (5, 900)
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    model: str = "gpt-4o-mini"
    llm_timeout: float = 60.0
    llm_retries: int = 2
    llm_concurrency: int = 4
    llm_stall_timeout: float = 20.0
    llm_fallback: bool = True
    llm_max_output_tokens: int = 4000
    # What the model does: "planner" writes the whole plan (a large model), "reader" reads the brief
    # into the workspace's own options and the offline playbooks build the plan (a small local model).
    llm_role: str = "planner"
    context_budget: int = 12000
    price_prompt_per_mtok: float = 0.15
    price_completion_per_mtok: float = 0.60
    redis_url: str | None = None
    workers: int = 2
    transport: str = "outbox"
    outbox_dir: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    send_retries: int = 5
    send_backoff: float = 60.0
    send_connections: int = 2
    smtp_pool: int = 4
    control_percent: float = 10.0
    public_url: str | None = None
    unsubscribe_days: int = 90
    max_request_bytes: int = 2_000_000
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def outbox_path(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def base_url(self) -> str:
        """Where recipients reach this server (unsubscribe links), without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        data_dir = Path(_env("COPILOT_DATA_DIR", "./data")).expanduser().resolve()
        database_url = _env("DATABASE_URL", f"sqlite:///{data_dir / 'copilot.db'}")
        workspace = os.environ.get("COPILOT_WORKSPACE_DIR", "").strip()
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            workspace_dir=Path(workspace).expanduser().resolve() if workspace else None,
            host=_env("COPILOT_HOST", "127.0.0.1"),
            port=_env_int("COPILOT_PORT", 8000),
            secret_key=os.environ.get("COPILOT_SECRET_KEY") or None,
            demo_password=_env("COPILOT_DEMO_PASSWORD", "demo"),
            secure_cookies=_env_bool("COPILOT_SECURE_COOKIES", False),
            trusted_proxies=_env_networks("COPILOT_TRUSTED_PROXIES"),
            login_limit_per_address=_env_limit("COPILOT_LOGIN_LIMIT_PER_ADDRESS", "10/60"),
            login_limit_per_account=_env_limit("COPILOT_LOGIN_LIMIT_PER_ACCOUNT", "5/900"),
            openai_api_key=os.environ.get("OPENAI_API_KEY") or None,
            openai_base_url=os.environ.get("OPENAI_BASE_URL") or None,
            model=_env("COPILOT_MODEL", "gpt-4o-mini"),
            llm_timeout=_env_float("COPILOT_LLM_TIMEOUT", 60.0),
            llm_retries=_env_int("COPILOT_LLM_RETRIES", 2),
            llm_concurrency=_env_int("COPILOT_LLM_CONCURRENCY", 4),
            llm_stall_timeout=_env_float("COPILOT_LLM_STALL_TIMEOUT", 20.0),
            llm_max_output_tokens=_env_int("COPILOT_LLM_MAX_OUTPUT_TOKENS", 4000),
            llm_fallback=_env_choice("COPILOT_LLM_FALLBACK", "offline", ("offline", "none")) == "offline",
            llm_role=_env_choice("COPILOT_LLM_ROLE", "planner", ("planner", "reader")),
            context_budget=_env_int("COPILOT_CONTEXT_BUDGET", 12000),
            price_prompt_per_mtok=_env_float("COPILOT_PRICE_PROMPT_PER_MTOK", 0.15),
            price_completion_per_mtok=_env_float("COPILOT_PRICE_COMPLETION_PER_MTOK", 0.60),
            redis_url=os.environ.get("REDIS_URL", "").strip() or None,
            workers=_env_int("COPILOT_WORKERS", 2),
            transport=_env_choice("COPILOT_TRANSPORT", "outbox", ("outbox", "smtp")),
            outbox_dir=Path(_env("COPILOT_OUTBOX_DIR", str(data_dir / "outbox"))).expanduser().resolve(),
            smtp_host=_env("COPILOT_SMTP_HOST", "127.0.0.1"),
            smtp_port=_env_int("COPILOT_SMTP_PORT", 587),
            smtp_security=_env_choice("COPILOT_SMTP_SECURITY", "starttls", ("starttls", "tls", "none")),
            smtp_username=os.environ.get("COPILOT_SMTP_USERNAME") or None,
            smtp_password=os.environ.get("COPILOT_SMTP_PASSWORD") or None,
            smtp_timeout=_env_float("COPILOT_SMTP_TIMEOUT", 30.0),
            send_retries=_env_int("COPILOT_SEND_RETRIES", 5),
            send_backoff=_env_float("COPILOT_SEND_BACKOFF", 60.0),
            send_connections=max(1, _env_int("COPILOT_SEND_CONNECTIONS", 2)),
            smtp_pool=min(32, max(1, _env_int("COPILOT_SMTP_POOL", 4))),
            control_percent=_control_percent(),
            public_url=os.environ.get("COPILOT_PUBLIC_URL", "").strip() or None,
            unsubscribe_days=max(1, _env_int("COPILOT_UNSUBSCRIBE_DAYS", 90)),
            max_request_bytes=max(10_000, _env_int("COPILOT_MAX_REQUEST_BYTES", 2_000_000)),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings.from_env()
