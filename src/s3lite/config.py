"""The shared AWS files (``~/.aws/config``, ``~/.aws/credentials``) and region lookup.

Parsing is a pure function over the files' text; :func:`load_shared_config` is the
thin shell that reads them. Files are re-read on every call (they are small), so
edits are picked up by the next credential refresh.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .checksums import CHECKSUM_MODES, ChecksumMode
from .errors import S3Error

__all__ = [
    "ConfigError",
    "SharedConfig",
    "config_file_path",
    "credentials_file_path",
    "load_shared_config",
    "parse_shared_file",
    "parse_sso_sessions",
    "resolve_checksum_mode",
    "resolve_profile",
    "resolve_region",
]

# A config file bigger than this is not a config file.
_MAX_FILE_BYTES = 1 << 20


class ConfigError(S3Error):
    """A shared config/credentials file exists but cannot be used (unreadable, malformed)."""

    default_code = "InvalidConfig"


@dataclass(frozen=True)
class SharedConfig:
    """The profiles of both shared files, by profile name (``"profile "`` prefix removed)."""

    config_path: Path
    credentials_path: Path
    config_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    credentials_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    # The ``[sso-session NAME]`` sections of the config file, by name.
    sso_sessions: dict[str, dict[str, str]] = field(default_factory=dict)

    def has_profile(self, name: str) -> bool:
        return name in self.config_profiles or name in self.credentials_profiles

    def profile(self, name: str) -> dict[str, str]:
        """All settings of profile ``name``; the credentials file wins over the config file
        (as in botocore's merged view)."""
        return {**self.config_profiles.get(name, {}), **self.credentials_profiles.get(name, {})}


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def config_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``."""
    raw = _env(environ).get("AWS_CONFIG_FILE") or "~/.aws/config"
    return Path(os.path.expanduser(raw))


def credentials_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """``AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``."""
    raw = _env(environ).get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return Path(os.path.expanduser(raw))


def resolve_profile(
    explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, bool]:
    """The profile to use and whether it was chosen (argument, ``AWS_PROFILE`` or
    ``AWS_DEFAULT_PROFILE``) rather than the implicit ``"default"``."""
    env = _env(environ)
    name = explicit or env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE")
    return (name, True) if name else ("default", False)


def _sections(text: str, source: str) -> list[tuple[str, dict[str, str]]]:
    """``(section name, settings)`` of an INI-style shared file, in file order."""
    # A default_section no real file uses: configparser's "DEFAULT" would otherwise
    # leak its keys into every profile.
    parser = configparser.RawConfigParser(default_section="\x00", strict=False, interpolation=None)
    try:
        parser.read_string(text, source=source)
    except configparser.Error as e:
        raise ConfigError(f"cannot parse {source}: {_first_line(str(e))}") from None
    return [
        (section.strip(), {k: v.strip() for k, v in parser.items(section)})
        for section in parser.sections()
    ]


def _named(section: str, kind: str) -> str | None:
    """``NAME`` of a ``[kind NAME]`` section header, else None."""
    if section.startswith(kind) and section[len(kind) : len(kind) + 1] in (" ", "\t"):
        return section[len(kind) :].strip()
    return None


def parse_shared_file(
    text: str, *, is_config_file: bool, source: str = "<string>"
) -> dict[str, dict[str, str]]:
    """Profiles of one shared file's text.

    In the config file, profiles are ``[profile NAME]`` (and ``[default]``; ``[profile
    default]`` wins over it) and other sections (``sso-session``, ``services``...) are
    dropped; in the credentials file every section is a profile, named as written.
    Keys are lower-cased; nested sub-sections stay as their raw multi-line text.
    """
    profiles: dict[str, dict[str, str]] = {}
    explicit_default: dict[str, str] | None = None
    for name, values in _sections(text, source):
        pname = _named(name, "profile")
        if not is_config_file:
            profiles[name] = values
        elif name == "default":
            profiles.setdefault("default", values)
        elif pname == "default":
            explicit_default = values
        elif pname is not None:
            profiles[pname] = values
    if explicit_default is not None:
        profiles["default"] = explicit_default
    return profiles


def parse_sso_sessions(text: str, *, source: str = "<string>") -> dict[str, dict[str, str]]:
    """The ``[sso-session NAME]`` sections of a config file's text, by name."""
    sessions: dict[str, dict[str, str]] = {}
    for name, values in _sections(text, source):
        session = _named(name, "sso-session")
        if session:
            sessions[session] = values
    return sessions


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _read_file(path: Path) -> str | None:
    """The file's text, or None if it does not exist."""
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise ConfigError(f"{path} is larger than {_MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid UTF-8") from None


def load_shared_config(environ: Mapping[str, str] | None = None) -> SharedConfig:
    """Read and parse both shared files (a missing file counts as empty)."""
    cpath = config_file_path(environ)
    kpath = credentials_file_path(environ)
    ctext = _read_file(cpath)
    ktext = _read_file(kpath)
    return SharedConfig(
        config_path=cpath,
        credentials_path=kpath,
        config_profiles=parse_shared_file(ctext, is_config_file=True, source=str(cpath))
        if ctext
        else {},
        credentials_profiles=parse_shared_file(ktext, is_config_file=False, source=str(kpath))
        if ktext
        else {},
        sso_sessions=parse_sso_sessions(ctext, source=str(cpath)) if ctext else {},
    )


def resolve_region(
    explicit: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The AWS region: ``explicit``, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``,
    else the profile's ``region`` setting; None if none is set."""
    if explicit:
        return explicit
    env = _env(environ)
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if env.get(var):
            return env[var]
    name, _ = resolve_profile(profile, env)
    region = load_shared_config(env).profile(name).get("region")
    return region or None


def resolve_checksum_mode(
    setting: str,
    explicit: str | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    default: ChecksumMode,
) -> ChecksumMode:
    """``request_checksum_calculation`` or ``response_checksum_validation`` (``setting``):
    ``explicit``, else ``AWS_<SETTING>``, else the profile's ``setting`` key, else ``default``."""
    env = _env(environ)
    source, value = "argument", explicit
    if not value and env.get(f"AWS_{setting.upper()}"):
        source, value = f"AWS_{setting.upper()}", env[f"AWS_{setting.upper()}"]
    if not value:
        name, _ = resolve_profile(profile, env)
        source = f"{setting} of profile {name!r}"
        value = load_shared_config(env).profile(name).get(setting)
    if not value:
        return default
    for mode in CHECKSUM_MODES:
        if value.strip().lower() == mode:
            return mode
    raise ConfigError(f"{source} must be when_supported or when_required, not {value!r}")
