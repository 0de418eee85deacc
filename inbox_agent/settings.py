"""The one typed, validated configuration.

Everything the daemon needs to know about its office, its mailbox and its peers is read here,
once, at start-up. A mistake fails fast with the file and the dotted key in the message, because
the person reading it is an IT officer at 7 a.m. on polling day, not a Python programmer.
Secrets never live in the TOML: the file names an environment variable, a file, or a systemd
credential, and the value is held in a ``SecretStr`` so it cannot reach a log by accident.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from inbox_agent.bundled import example_profile
from inbox_agent.errors import ConfigError
from inbox_agent.protocol.rules import ProtocolSettings

CONFIG_ENV = "INBOX_AGENT_CONFIG"

Security = Literal["ssl", "starttls", "none"]
Auth = Literal["password", "oauth2"]
Port = Annotated[int, Field(ge=1, le=65535)]


def _known_zone(name: str) -> str:
    """An IANA zone this machine knows: checked once, at start-up, not on the first letter."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name: Europe/London)") from exc
    return name


TimeZone = Annotated[str, AfterValidator(_known_zone)]


class _Section(BaseModel):
    """Unknown keys are errors: a typo in a key must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _Secret(_Section):
    """A password given one of four ways; resolved to ``secret`` by ``Settings.load``."""

    password: SecretStr | None = None
    password_env: str | None = None
    password_file: Path | None = None
    password_credential: str | None = None

    def secret(self, section: str) -> SecretStr | None:
        """Resolve the password now, so a missing secret fails at start-up, not at first login."""
        return resolve_secret(self, section, "password")


def resolve_secret(source: BaseModel, section: str, prefix: str) -> SecretStr | None:
    """``prefix``, ``prefix_env``, ``prefix_file`` or ``prefix_credential``: at most one, read now.

    Shared by every secret in the file (passwords, the OAuth2 client secret and refresh token),
    so each is given the same four ways and fails the same way, naming ``section.key``.
    """
    keys = (prefix, f"{prefix}_env", f"{prefix}_file", f"{prefix}_credential")
    literal, env, file, credential = (getattr(source, k) for k in keys)
    given = [k for k in keys if getattr(source, k) is not None]
    if len(given) > 1:
        raise ConfigError(f"{section}: give only one of {', '.join(given)}")
    if literal is not None:
        return SecretStr(literal.get_secret_value())
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"{section}.{prefix}_env: environment variable {env} is not set")
        return SecretStr(value)
    path, key = file, f"{prefix}_file"
    if credential is not None:
        key = f"{prefix}_credential"
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if not creds:
            raise ConfigError(
                f"{section}.{key}: $CREDENTIALS_DIRECTORY is not set "
                "(use LoadCredential= in the systemd unit)"
            )
        path = Path(creds) / credential
    if path is None:
        return None
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"{section}.{key}: cannot read {path}: {exc.strerror}") from exc


class OfficeSettings(_Section):
    name: str
    inbox_address: EmailStr
    spoc_role: str
    website_url: str
    general_address: EmailStr | None = None
    reference_prefix: Annotated[str, Field(pattern=r"^[A-Z]{2,6}$")] = "ELX"
    timezone: TimeZone = "Europe/London"
    # a fictional office (config/example.toml): check-config accepts its example.org
    # placeholders; only allowed while nothing is read from or sent to a real server
    demo: bool = False

    @property
    def zone(self) -> ZoneInfo:
        """The office's time zone, validated at start-up (``office.timezone``)."""
        return ZoneInfo(self.timezone)


class ImapSettings(_Secret):
    host: str
    port: Port = 993
    security: Security = "ssl"
    username: str
    auth: Auth = "password"
    folder: str = "INBOX"
    processed_folder: str = ""
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    ca_file: Path | None = None
    verify_tls: bool = True
    # IMAP IDLE (RFC 2177): wake the poll as mail arrives, when the server advertises IDLE
    idle: bool = True
    idle_renew_seconds: Annotated[float, Field(ge=1, lt=29 * 60)] = 25 * 60.0

    @property
    def account(self) -> str:
        """The account's name in the ledger and the mailbox state (never the secret)."""
        return f"imap://{self.username}@{self.host}:{self.port}"


class MaildirSettings(_Section):
    path: Path


class SmtpSettings(_Secret):
    host: str = "localhost"
    port: Port = 587
    security: Security = "starttls"
    username: str | None = None
    auth: Auth = "password"
    from_address: EmailStr
    deliver: Literal["smtp", "maildir"] = "smtp"
    maildir_path: Path | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    ca_file: Path | None = None
    verify_tls: bool = True

    @model_validator(mode="after")
    def _maildir_needs_path(self) -> SmtpSettings:
        if self.deliver == "maildir" and self.maildir_path is None:
            raise ValueError("deliver = 'maildir' needs maildir_path")
        if self.auth == "oauth2" and not self.username:
            raise ValueError("auth = 'oauth2' needs username (the mailbox that sends)")
        return self


OAuth2Provider = Literal["microsoft", "google", "generic"]
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
MICROSOFT_DELEGATED_SCOPE = (
    "https://outlook.office365.com/IMAP.AccessAsUser.All https://outlook.office365.com/SMTP.Send"
)
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"


class OAuth2Settings(_Section):
    """Where the access tokens for ``auth = "oauth2"`` come from (SASL XOAUTH2).

    ``microsoft``: app-only (client credentials: ``client_secret*`` or a certificate) when no
    refresh token is given, else the delegated refresh-token flow; both through ``msal``.
    ``google``: a refresh token exchanged at Google's token endpoint. ``generic``: any
    OAuth2 token endpoint (``token_endpoint``), with a refresh token or client credentials.
    The client secret and refresh token are secrets, given like passwords.
    """

    provider: OAuth2Provider
    tenant_id: str | None = None
    client_id: Annotated[str, Field(min_length=1)]
    client_secret: SecretStr | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    client_secret_credential: str | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: Annotated[str, Field(pattern=r"^[0-9A-Fa-f:]{40,95}$")] | None = None
    refresh_token: SecretStr | None = None
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    refresh_token_credential: str | None = None
    token_endpoint: Annotated[str, Field(pattern=r"^https?://")] | None = None
    scope: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0

    @model_validator(mode="after")
    def _complete(self) -> OAuth2Settings:
        cert = (self.certificate_file is not None, self.certificate_thumbprint is not None)
        if cert[0] != cert[1]:
            raise ValueError("certificate_file and certificate_thumbprint go together")
        if self.provider == "microsoft":
            if not self.tenant_id:
                raise ValueError("provider 'microsoft' needs tenant_id (the directory id)")
            if self.token_endpoint is not None:
                raise ValueError("token_endpoint is for 'google' and 'generic'; msal finds it")
        elif any(cert):
            raise ValueError("certificate_file is only for provider 'microsoft'")
        if self.provider == "generic" and self.token_endpoint is None:
            raise ValueError("provider 'generic' needs token_endpoint")
        return self

    @property
    def endpoint(self) -> str:
        return self.token_endpoint or GOOGLE_TOKEN_ENDPOINT

    @property
    def scopes(self) -> list[str]:
        """The scopes asked for: ``scope`` if given, else the provider's mail scopes."""
        if self.scope:
            return self.scope.split()
        if self.provider == "google":
            return [GOOGLE_SCOPE]
        if self.provider == "microsoft":
            app_only = not self._given("refresh_token")
            return (MICROSOFT_APP_SCOPE if app_only else MICROSOFT_DELEGATED_SCOPE).split()
        return []

    def _given(self, prefix: str) -> bool:
        keys = (prefix, f"{prefix}_env", f"{prefix}_file", f"{prefix}_credential")
        return any(getattr(self, k) is not None for k in keys)

    def client_secret_value(self) -> SecretStr | None:
        return resolve_secret(self, "oauth2", "client_secret")

    def refresh_token_value(self) -> SecretStr | None:
        return resolve_secret(self, "oauth2", "refresh_token")

    def check_secrets(self) -> None:
        """Resolve both secrets now and check the flow they imply is complete."""
        secret, refresh = self.client_secret_value(), self.refresh_token_value()
        if secret is not None and self.certificate_file is not None:
            raise ConfigError("oauth2: give client_secret* or certificate_file, not both")
        if self.provider == "google" and refresh is None:
            raise ConfigError("oauth2.refresh_token_env: provider 'google' needs a refresh token")
        app_only = self.provider == "microsoft" and refresh is None
        if app_only and secret is None and self.certificate_file is None:
            raise ConfigError(
                "oauth2.client_secret_env: app-only Microsoft 365 login needs a client "
                "secret or certificate_file + certificate_thumbprint (or a refresh token "
                "for the delegated flow)"
            )
        if self.certificate_file is not None and not self.certificate_file.is_file():
            raise ConfigError(f"oauth2.certificate_file: {self.certificate_file} is not a file")


class DatabaseSettings(_Section):
    url: str = "sqlite:///inbox-agent.sqlite3"


class ParoSettings(_Section):
    name: str
    email: EmailStr
    role: str = "Police Area Returning Officer"


class ElectionSettings(_Section):
    poll_date: dt.date
    pre_election_period_start: dt.date
    nominations_close: dt.date
    persons_nominated_published: dt.date
    # check-config refuses a poll date in the past (last election's profile left in place)
    # unless the office means to keep the inbox running after the poll
    allow_past_poll_date: bool = False

    @model_validator(mode="after")
    def _in_order(self) -> ElectionSettings:
        if not (
            self.pre_election_period_start
            <= self.nominations_close
            <= self.persons_nominated_published
            <= self.poll_date
        ):
            raise ValueError(
                "dates must run pre_election_period_start <= nominations_close <= "
                "persons_nominated_published <= poll_date"
            )
        return self


MAX_WORKERS = 8


def default_workers() -> int:
    """The CPUs this process may run on (a systemd ``CPUAffinity=`` counts), up to 4: the
    main process registering on one and analysis workers on the others; past 4 the main
    process's database writes, not analysis, set the pace."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


class PollSettings(_Section):
    interval_seconds: Annotated[int, Field(ge=5, le=86400)] = 60
    max_message_bytes: Annotated[int, Field(ge=1024)] = 50 * 1024 * 1024
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 5
    # processes sharing a backlog: the main one (registers) + workers - 1 analysing ahead
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = Field(default_factory=default_workers)


class CasesSettings(_Section):
    target_working_days: Annotated[int, Field(ge=1, le=60)] = 10
    review_below_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5


class CalendarSettings(_Section):
    extra_closures: list[dt.date] = []
    extra_working_days: list[dt.date] = []


class PolicySettings(_Section):
    """How the office words its acknowledgements; what they say is in ``[protocol]``.

    ``template_dir`` lets an office replace any bundled template (a category's letter, or one
    of the protocol's wording blocks) by saving its own under the same name.
    """

    briefing_url: str | None = None
    template_dir: Path | None = None
    acknowledgement_subject_prefix: Annotated[
        str, Field(min_length=1, max_length=80, pattern=r"^[^\r\n]+$")
    ] = "Election enquiry"


class WelshSettings(_Section):
    """The Welsh Language Standards, for an office in Wales (``standards = true``).

    A Welsh office answers mail written in Welsh in Welsh, and mail from someone whose
    preference it does not know bilingually, Welsh first; mail in English is answered in
    English. What a Welsh acknowledgement says in the office's own words is given here in
    Welsh: its name, the SPOC's title and the title of each ``[protocol.recipients]`` entry
    (the wording blocks have Welsh templates, ``templates/acknowledgement/cy/``). A
    translation must be the office's, not the software's. An office outside Wales leaves
    ``standards`` false and answers in English, whatever the language of the mail (it
    still records it).
    """

    standards: bool = False
    office_name: str = ""
    spoc_role: str = ""
    acknowledgement_subject_prefix: Annotated[
        str, Field(min_length=1, max_length=80, pattern=r"^[^\r\n]+$")
    ] = "Ymholiad etholiad"
    # Welsh titles of [protocol.recipients], by the same keys, as they read after "at" (to):
    # "y Prif Weithredwr", "dîm cyfathrebu'r swyddfa"
    recipients: dict[str, Annotated[str, Field(min_length=1)]] = {}

    @model_validator(mode="after")
    def _named(self) -> WelshSettings:
        if self.standards:
            for key in ("office_name", "spoc_role"):
                if not getattr(self, key).strip():
                    raise ValueError(
                        f"welsh.{key}: required when welsh.standards = true (the Welsh "
                        f"{key.replace('_', ' ')} in acknowledgements)"
                    )
        return self

    def missing_titles(self, keys: Iterable[str]) -> list[str]:
        """The protocol's recipients this Welsh office has not yet named in Welsh."""
        if not self.standards:
            return []
        return [key for key in keys if key not in self.recipients]


class ActionsSettings(_Section):
    """What the daemon may send on its own, and the brakes on it (RFC 3834 and experience)."""

    acknowledge: bool = True
    forward_paro: bool = True
    forward_internal: bool = True  # the protocol's routes to the Chief Executive and others
    max_acknowledgements_per_sender_per_day: Annotated[int, Field(ge=0, le=100)] = 3
    acknowledge_since: dt.datetime | None = None
    first_run_grace_hours: Annotated[int, Field(ge=0, le=24 * 90)] = 24
    send_retry_hours: Annotated[float, Field(gt=0, le=24 * 14)] = 48.0

    @model_validator(mode="after")
    def _aware(self) -> ActionsSettings:
        if self.acknowledge_since is not None and self.acknowledge_since.tzinfo is None:
            raise ValueError("acknowledge_since needs a time zone, e.g. 2027-03-01T00:00:00Z")
        return self


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class AlertsSettings(_Section):
    """Who is told when the daemon cannot do its work, and after how long."""

    email: EmailStr | None = None
    poll_failure_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)] = 30


Days = Annotated[int, Field(ge=1, le=36500)]


class RetentionSettings(_Section):
    """How long personal data is kept (UK GDPR storage limitation); applied by ``retention``."""

    raw_mail_days_after_close: Days = 365
    anonymise_register_after_days: Days | None = None
    machine_mail_days: Days = 90


class MetricsSettings(_Section):
    """An optional Prometheus endpoint; off unless ``listen`` is given."""

    listen: str | None = None

    @model_validator(mode="after")
    def _host_port(self) -> MetricsSettings:
        if self.listen is not None:
            _ = self.address  # raises ValueError, reported with the key
        return self

    @property
    def address(self) -> tuple[str, int]:
        """``127.0.0.1:9464`` -> ``("127.0.0.1", 9464)``; ``[::1]:9464`` -> ``("::1", 9464)``."""
        host, sep, port = (self.listen or "").rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"listen must be host:port, e.g. 127.0.0.1:9464, not {self.listen!r}")
        return host, int(port)


class WebSettings(_Section):
    """The staff web UI (``inbox-agent web``): where it listens and how sessions are signed.

    It binds to loopback by default, for a TLS reverse proxy in front. The session signing key
    is a secret like a password: give ``secret_key_env``, ``secret_key_file`` or
    ``secret_key_credential`` (a systemd credential). ``trusted_proxy_header`` names a header
    (e.g. ``X-Remote-User``) that the proxy sets to the signed-in user's name for single
    sign-on; it is off by default and only allowed on a loopback address, because anyone who
    can reach the port directly could otherwise send the header themselves.
    """

    listen: str = "127.0.0.1:8080"
    secret_key_env: str | None = None
    secret_key_file: Path | None = None
    secret_key_credential: str | None = None
    trusted_proxy_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = None
    secure_cookies: bool = True
    session_hours: Annotated[float, Field(gt=0, le=24 * 7)] = 8.0
    idle_minutes: Annotated[float, Field(gt=0, le=24 * 60)] = 30.0
    login_concurrency: Annotated[int, Field(ge=1, le=64)] = 2
    max_request_bytes: Annotated[int, Field(ge=64 * 1024, le=100 * 1024 * 1024)] = 2 * 1024 * 1024
    max_header_bytes: Annotated[int, Field(ge=4096, le=1024 * 1024)] = 16 * 1024

    @model_validator(mode="after")
    def _check(self) -> WebSettings:
        host, _ = self.address  # raises ValueError, reported with the key
        if self.trusted_proxy_header and host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("trusted_proxy_header needs listen on a loopback address")
        return self

    @property
    def address(self) -> tuple[str, int]:
        """``127.0.0.1:8080`` -> ``("127.0.0.1", 8080)``; ``[::1]:8080`` -> ``("::1", 8080)``."""
        host, sep, port = self.listen.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"listen must be host:port, e.g. 127.0.0.1:8080, not {self.listen!r}")
        return host, int(port)

    def secret_key(self) -> SecretStr:
        """Resolve the session signing key; missing or short keys fail naming the key."""
        given = [
            k
            for k in ("secret_key_env", "secret_key_file", "secret_key_credential")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ConfigError(
                "web: give exactly one of secret_key_env, secret_key_file, secret_key_credential"
            )
        key, value = given[0], None
        if self.secret_key_env is not None:
            value = os.environ.get(self.secret_key_env)
            if value is None:
                raise ConfigError(f"web.secret_key_env: {self.secret_key_env} is not set")
        else:
            path = self.secret_key_file
            if self.secret_key_credential is not None:
                creds = os.environ.get("CREDENTIALS_DIRECTORY")
                if not creds:
                    raise ConfigError(
                        "web.secret_key_credential: $CREDENTIALS_DIRECTORY is not set "
                        "(use LoadCredential= in the systemd unit)"
                    )
                path = Path(creds) / self.secret_key_credential
            assert path is not None
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"web.{key}: cannot read {path}: {exc.strerror}") from exc
        if len(value) < 32:
            raise ConfigError(f"web.{key}: the session key must be at least 32 characters")
        return SecretStr(value)


DEFAULT_PARTY_NAMES = (
    "Conservative and Unionist Party",
    "Conservative Party",
    "Conservatives",
    "Conservative",
    "Tories",
    "Tory",
    "Labour and Co-operative Party",
    "Labour Party",
    "Labour",
    "Co-operative Party",
    "Liberal Democrats",
    "Liberal Democrat",
    "Lib Dems",
    "Lib Dem",
    "Green Party",
    "Greens",
    "Reform UK",
    "UK Independence Party",
    "UKIP",
    "Plaid Cymru",
    "Scottish National Party",
    "SNP",
    "Workers Party",
    "English Democrats",
    "Heritage Party",
)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TransparencySettings(_Section):
    """The disclosure log, equal treatment of candidates and the weekly summary (issue 7).

    ``party_names`` and ``staff_names`` are redacted from everything published, with the
    roster's and the register's names. Single-word party names match with their capital
    letter only ("Labour", not "labour costs"); longer ones in any case. An answer given to a
    candidate must be on the disclosure log within ``publish_after_working_days`` working days
    or ``inbox-agent parity`` raises an alert.
    """

    party_names: list[Annotated[str, Field(min_length=2)]] = list(DEFAULT_PARTY_NAMES)
    staff_names: list[Annotated[str, Field(min_length=2)]] = []
    public_domains: list[Annotated[str, Field(min_length=3)]] = [
        "gov.uk",
        "police.uk",
        "electoralcommission.org.uk",
        "choosemypcc.org.uk",
    ]
    publish_after_working_days: Annotated[int, Field(ge=1, le=60)] = 5
    publish_dir: Path | None = None
    weekly_report_to: EmailStr | None = None
    weekly_report_day: Weekday = "mon"
    weekly_report_hour: Annotated[int, Field(ge=0, le=23)] = 8


class CaseworkSettings(_Section):
    """Statutory casework: the letters' links, the officers' reminders and the escalation.

    ``officer_addresses`` maps the officer names staff assign on the case page to where their
    reminders go; else the web account of that name's email; else the office inbox, so no
    reminder is ever silently dropped. ``chief_executive`` receives the escalation when a
    statutory date is missed; without it the escalation goes to the office inbox too.
    """

    disclosure_log_url: str | None = None
    ico_complaint_url: str = "https://ico.org.uk/make-a-complaint/"
    reminders: bool = True
    remind_working_days_before: Annotated[int, Field(ge=0, le=20)] = 3
    officer_addresses: dict[Annotated[str, Field(min_length=1)], EmailStr] = {}
    chief_executive: EmailStr | None = None
    reminder_hour: Annotated[int, Field(ge=0, le=23)] = 7


class Settings(_Section):
    """The whole file. ``source`` is the path it came from, for error messages."""

    office: OfficeSettings
    imap: ImapSettings | None = None
    maildir: MaildirSettings | None = None
    smtp: SmtpSettings | None = None
    database: DatabaseSettings = DatabaseSettings()
    paro: ParoSettings
    election: ElectionSettings
    poll: PollSettings = PollSettings()
    cases: CasesSettings = CasesSettings()
    calendar: CalendarSettings = CalendarSettings()
    policy: PolicySettings = PolicySettings()
    protocol: ProtocolSettings = ProtocolSettings()
    welsh: WelshSettings = WelshSettings()
    actions: ActionsSettings = ActionsSettings()
    logging: LoggingSettings = LoggingSettings()
    alerts: AlertsSettings = AlertsSettings()
    retention: RetentionSettings = RetentionSettings()
    metrics: MetricsSettings = MetricsSettings()
    web: WebSettings = WebSettings()
    transparency: TransparencySettings = TransparencySettings()
    casework: CaseworkSettings = CaseworkSettings()
    oauth2: OAuth2Settings | None = None
    source: Path = Path("<memory>")

    @model_validator(mode="after")
    def _one_source(self) -> Settings:
        if (self.imap is None) == (self.maildir is None):
            raise ValueError("configure exactly one mail source: [imap] or [maildir]")
        local_only = self.imap is None and (self.smtp is None or self.smtp.deliver == "maildir")
        if self.office.demo and not local_only:
            raise ValueError(
                "office.demo = true is for the bundled demo, which reads and writes local "
                "Maildirs only; remove it from a profile with [imap] or smtp.deliver = 'smtp'"
            )
        users = [s for s in ("imap", "smtp") if getattr(getattr(self, s), "auth", "") == "oauth2"]
        if users and self.oauth2 is None:
            raise ValueError(f"{users[0]}.auth = 'oauth2' needs an [oauth2] section")
        own = {str(self.office.inbox_address).lower(), self.from_address}
        for key, recipient in self.protocol.recipients.items():
            if str(recipient.email).lower() in own:
                raise ValueError(
                    f"protocol.recipients.{key}.email is this inbox: a forward to it would "
                    "come straight back; leave the recipient and its routes out"
                )
        if missing := self.welsh.missing_titles(self.protocol.recipients.keys()):
            raise ValueError(
                f"welsh.recipients.{missing[0]}: welsh.standards = true and "
                f"protocol.recipients.{missing[0]} is configured: give its Welsh title"
            )
        return self

    @property
    def imap_password(self) -> SecretStr | None:
        return self.imap.secret("imap") if self.imap else None

    @property
    def smtp_password(self) -> SecretStr | None:
        return self.smtp.secret("smtp") if self.smtp else None

    @property
    def from_address(self) -> str:
        """The address our emails come from: the SMTP identity, else the inbox itself."""
        return str(self.smtp.from_address if self.smtp else self.office.inbox_address).lower()

    @property
    def source_name(self) -> str:
        """The mailbox this profile polls, the same on every node: its lease's name, and
        what tells two profiles of one deployment apart."""
        if self.imap is not None:
            return f"{self.imap.account}/{self.imap.folder}"
        assert self.maildir is not None  # _one_source guarantees exactly one source
        return f"local:{self.maildir.path.resolve()}"

    @property
    def own_addresses(self) -> frozenset[str]:
        """Mail from these is ours coming back: never acknowledged (loop protection)."""
        return frozenset({str(self.office.inbox_address).lower(), self.from_address})


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Relative paths in the file are relative to the file, so a profile works from any cwd."""
    for section, key in (
        ("maildir", "path"),
        ("smtp", "maildir_path"),
        ("imap", "ca_file"),
        ("smtp", "ca_file"),
        ("imap", "password_file"),
        ("smtp", "password_file"),
        ("policy", "template_dir"),
        ("web", "secret_key_file"),
        ("transparency", "publish_dir"),
        ("oauth2", "client_secret_file"),
        ("oauth2", "refresh_token_file"),
        ("oauth2", "certificate_file"),
    ):
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[section][key] = str(base / value)
    db = data.get("database")
    if isinstance(db, dict) and isinstance(db.get("url"), str):
        url: str = db["url"]
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////") and url != prefix:
            rel = url[len(prefix) :]
            if rel != ":memory:":
                db["url"] = prefix + str(base / rel)


def _format_error(path: Path, exc: ValidationError, key_prefix: str = "") -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = key_prefix + ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config`` wins, then ``$INBOX_AGENT_CONFIG``, then the bundled demo profile."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else example_profile()


def read_toml(file: Path) -> dict[str, Any]:
    """Parse one TOML file; every way it can be unreadable is a ConfigError with a hint.

    Windows editors save "UTF-8 with BOM" or a legacy code page by default, and the file is
    often edited on a desktop and copied to the server, so those two get their own words.
    """
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc.strerror}") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(
            f"{file}: the file starts with a byte-order mark (BOM); save it as UTF-8 "
            "without BOM (in Notepad: Save as, Encoding 'UTF-8', not 'UTF-8 with BOM')"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{file}: line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file "
            "as UTF-8 (a legacy code page such as Windows-1252 writes £ and curly quotes "
            "differently)"
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc


def load_settings(path: str | os.PathLike[str] | None = None, *, secrets: bool = True) -> Settings:
    """Read, validate and (with ``secrets``) resolve secrets; ConfigError names file and key."""
    file = config_path(path)
    return settings_from_dict(read_toml(file), file, secrets=secrets)


def settings_from_dict(
    data: dict[str, Any], file: Path, *, key_prefix: str = "", secrets: bool = True
) -> Settings:
    """Validate an already-parsed mapping (tests build these directly).

    ``key_prefix`` (``mailboxes.north.``) makes errors name the key as it is written in a
    file of several mailboxes (see ``deployment``). ``secrets=False`` leaves the passwords
    unread until a connection needs them: admin commands (``status``, ``register``, the
    web UI) run outside the daemon's unit, where its systemd credentials do not exist.
    """
    _resolve_paths(data, file.resolve().parent)
    try:
        settings = Settings.model_validate({**data, "source": file})
    except ValidationError as exc:
        raise ConfigError(_format_error(file, exc, key_prefix)) from exc
    if secrets:
        check_secrets(settings, key_prefix)
    return settings


def check_secrets(settings: Settings, key_prefix: str = "") -> None:
    """Resolve every secret the mail peers need now, so a missing one fails at start-up."""
    try:
        _ = settings.imap_password, settings.smtp_password
        if settings.oauth2 is not None:
            settings.oauth2.check_secrets()
    except ConfigError as exc:
        file = settings.source
        where = f"{file}: {key_prefix.rstrip('.')}" if key_prefix else f"{file}"
        raise ConfigError(f"{where}: {exc}") from exc
