"""``jupyters3 check``'s engine: does a JupyterS3 configuration work, end to end?

:func:`run_check` tries, with the credentials JupyterS3 would use: credentials
found (and where), endpoint reachable, bucket exists, list / put / get / delete
under the prefix, and (if asked) no orphaned checkpoints under it, removing them
if asked; :func:`format_report` prints one line per step, with a fix for each
failure. ``jupyters3 check`` and ``jupyters3 demo`` both run it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from s3lite import NoSuchBucket, NoSuchKey, S3Error, TransportError
from s3lite.credentials import CredentialsError, NoCredentialsError
from s3lite.protocol import Endpoint

from .paths import orphaned_checkpoints

if TYPE_CHECKING:
    from traitlets.config import Config

    from .manager import JupyterS3

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CheckTarget",
    "Step",
    "format_report",
    "load_jupyter_config",
    "make_manager",
    "passed",
    "run_check",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

Status = Literal["ok", "FAIL", "skip"]
STEPS = ("credentials", "endpoint", "bucket", "list", "put", "get", "delete")
_CONNECT_TIMEOUT = 5.0


@dataclass
class Step:
    """The outcome of one check: ``detail`` says what was seen, ``fix`` what to do."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class CheckTarget:
    """What is checked: a bucket and prefix at an endpoint, with a credential source."""

    bucket: str
    prefix: str
    endpoint_url: str | None
    region: str
    where: str = field(init=False)

    def __post_init__(self) -> None:
        self.where = self.endpoint_url or "AWS S3"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def host_port(self) -> tuple[str, int]:
        """The host and port requests go to (for the reachability step)."""
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            default = 443 if parts.scheme == "https" else 80
            return parts.hostname or "", parts.port or default
        return Endpoint.for_region(self.region).host, 443


# -- the report (pure) ----------------------------------------------------------------


def format_report(target: CheckTarget, steps: Sequence[Step]) -> str:
    """The printed report: a header, one line per step (and its fix), a verdict."""
    lines = [f"Checking {target.url} at {target.where} (region {target.region})"]
    width = max(len(s.name) for s in steps) if steps else 0
    for step in steps:
        mark = {"ok": " ok ", "FAIL": "FAIL", "skip": "skip"}[step.status]
        lines.append(f"  [{mark}] {step.name:<{width}}  {step.detail}")
        if step.fix:
            lines.append(f"  {'':6} {'':<{width}}  fix: {step.fix}")
    failed = sum(s.status == "FAIL" for s in steps)
    skipped = sum(s.status == "skip" for s in steps)
    if not failed and not skipped:
        lines.append(f"All {len(steps)} checks passed.")
    else:
        lines.append(
            f"{failed} of {len(steps)} checks failed"
            + (f", {skipped} skipped" if skipped else "")
            + "."
        )
    return "\n".join(lines)


def passed(steps: Sequence[Step]) -> bool:
    """True when every step passed."""
    return all(s.status == "ok" for s in steps)


def _mask(key_id: str) -> str:
    return f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) > 12 else key_id[:4] + "…"


def _permission_fix(exc: S3Error, action: str, resource: str) -> str:
    code = exc.code
    if code == "InvalidAccessKeyId":
        return "this endpoint does not know the access key id: use other credentials"
    if code == "SignatureDoesNotMatch":
        return "the secret access key does not belong to the access key id (or the clock is off)"
    if code in ("ExpiredToken", "TokenRefreshRequired", "InvalidToken"):
        return "the session token has expired or is invalid: log in again (e.g. aws sso login)"
    if code.startswith("KMS"):
        return "the bucket encrypts with KMS: allow kms:GenerateDataKey and kms:Decrypt on its key"
    if exc.status == 403 or code == "AccessDenied":
        return f"allow {action} on {resource} for these credentials (IAM or bucket policy)"
    if isinstance(exc, TransportError):
        return "the endpoint stopped answering: check the network, proxy and --endpoint-url"
    return f"S3 refused {action}: see the error above"


def _region_fix(exc: S3Error) -> str | None:
    region = exc.headers.get("x-amz-bucket-region")
    if exc.status == 301 or exc.code in ("PermanentRedirect", "AuthorizationHeaderMalformed"):
        where = f"the bucket is in {region}" if region else "the bucket is in another region"
        to = region or "<its region>"
        return f"{where}: pass --region {to} (c.JupyterS3.aws_region = {to!r})"
    return None


# -- running the checks ------------------------------------------------------------------


async def run_check(
    manager: JupyterS3, *, orphans: bool = False, remove_orphans: bool = False
) -> tuple[CheckTarget, list[Step]]:
    """Check ``manager``'s configuration end to end with its own S3 client; with
    ``orphans`` also look for orphaned checkpoints, and with ``remove_orphans``
    remove them."""
    names = STEPS + (("orphans",) if orphans or remove_orphans else ())
    endpoint = manager.endpoint()
    try:
        region = manager.s3.region
    except Exception as exc:  # e.g. a malformed ~/.aws/config, found while resolving the region
        target = CheckTarget(manager.bucket, manager.layout.prefix, endpoint, "?")
        fix = "fix the AWS configuration (~/.aws/config, AWS_* variables) named above"
        first = Step("credentials", "FAIL", f"{type(exc).__name__}: {exc}", fix)
        return target, [first] + [Step(n, "skip", "not tried (see above)") for n in names[1:]]
    target = CheckTarget(manager.bucket, manager.layout.prefix, endpoint, region)
    steps: list[Step] = []
    try:
        await _run_steps(manager, target, steps)
        if "orphans" in names and all(s.status == "ok" for s in steps):
            steps.append(await _check_orphans(manager, target, remove=remove_orphans))
    finally:
        await manager.close()
    done = {s.name for s in steps}
    steps += [Step(name, "skip", "not tried (see above)") for name in names if name not in done]
    return target, steps


async def _run_steps(manager: JupyterS3, target: CheckTarget, steps: list[Step]) -> None:
    s3, bucket, prefix = manager.s3, target.bucket, target.prefix
    objects = f"arn:aws:s3:::{bucket}/{prefix}*"

    creds_ok = await _check_credentials(manager, steps)
    steps.append(await _check_endpoint(target))
    if not creds_ok or steps[-1].status != "ok":
        return

    try:
        await s3.head_bucket(bucket)
        steps.append(Step("bucket", "ok", f"{bucket} exists"))
    except NoSuchBucket:
        fix = (
            f"create it (e.g. `aws s3 mb s3://{bucket} --region {target.region}`), or "
            "correct --bucket (c.JupyterS3.aws_s3_bucket)"
        )
        steps.append(Step("bucket", "FAIL", f"{bucket} does not exist at {target.where}", fix))
        return
    except S3Error as exc:
        region_fix = _region_fix(exc)
        if region_fix:
            steps.append(Step("bucket", "FAIL", f"{exc.code} (HTTP {exc.status})", region_fix))
            return
        fix = _permission_fix(exc, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
        steps.append(Step("bucket", "FAIL", f"cannot use {bucket}: {exc.code}", fix))
        if exc.status != 403:
            return  # 403 on HEAD has no detail: the list step below tells why

    try:
        listing = s3.list_objects(bucket, prefix, "/", page_size=1)
        first = await anext(listing, None)
        await listing.aclose()  # type: ignore[attr-defined]
        seen = "empty so far" if first is None else "has contents"
        steps.append(Step("list", "ok", f"listed {target.url} ({seen})"))
    except S3Error as exc:
        fix = _region_fix(exc) or _permission_fix(exc, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
        steps.append(Step("list", "FAIL", str(exc), fix))
        return

    probe = f"{prefix}.jupyters3-check-{uuid.uuid4().hex[:12]}"
    payload = f"jupyters3 check {time.time()}".encode()
    try:
        await s3.put_object(bucket, probe, payload, content_type="text/plain")
        steps.append(Step("put", "ok", f"wrote s3://{bucket}/{probe}"))
    except S3Error as exc:
        steps.append(Step("put", "FAIL", str(exc), _permission_fix(exc, "s3:PutObject", objects)))
        return

    try:
        got = await s3.get_object(bucket, probe)
        if got.body == payload:
            steps.append(Step("get", "ok", "read it back, same bytes"))
        else:
            fix = "something between you and S3 alters objects (a proxy?)"
            steps.append(Step("get", "FAIL", "read back different bytes", fix))
    except S3Error as exc:
        steps.append(Step("get", "FAIL", str(exc), _permission_fix(exc, "s3:GetObject", objects)))

    try:
        await s3.delete_object(bucket, probe)
        try:
            await s3.head_object(bucket, probe)
        except NoSuchKey:
            steps.append(Step("delete", "ok", "deleted it"))
        else:
            steps.append(Step("delete", "FAIL", "the object is still there after DELETE"))
    except S3Error as exc:
        fix = _permission_fix(exc, "s3:DeleteObject", objects)
        detail = f"{exc} (s3://{bucket}/{probe} is left behind: delete it by hand)"
        steps.append(Step("delete", "FAIL", detail, fix))


async def _check_orphans(manager: JupyterS3, target: CheckTarget, *, remove: bool) -> Step:
    """Checkpoints with no file under the prefix (left by an older jupyters3 or another
    tool; jupyters3 hides them), found by listing every key there; removed if asked."""
    store, prefix = manager.store, target.prefix
    try:
        listed = await store.objects_under(prefix)
        found = orphaned_checkpoints(prefix, (o.key for o in listed))
        if found and remove:
            # A file saved since the listing passed its name keeps its checkpoints.
            heads = await asyncio.gather(*(store.head(key) for key in found))
            found = {k: v for (k, v), head in zip(found.items(), heads, strict=True) if not head}
    except S3Error as exc:
        return Step("orphans", "FAIL", str(exc), _permission_fix(exc, "s3:ListBucket", prefix))
    scanned = f"{len(listed):,} keys under {target.url} listed"
    if not found:
        return Step("orphans", "ok", f"no orphaned checkpoints ({scanned})")
    count = sum(len(keys) for keys in found.values())
    first = next(iter(found))[len(prefix) :]
    what = f"{count:,} orphaned checkpoints of {len(found):,} deleted files (first: {first})"
    if not remove:
        fix = "remove them: jupyters3 check --remove-orphans (the file browser hides them)"
        return Step("orphans", "FAIL", f"{what}; {scanned}", fix)
    try:
        errors = await store.delete_keys([key for keys in found.values() for key in keys])
    except S3Error as exc:
        objects = f"arn:aws:s3:::{target.bucket}/{prefix}*"
        return Step("orphans", "FAIL", str(exc), _permission_fix(exc, "s3:DeleteObject", objects))
    if errors:
        detail = (
            f"{len(errors):,} of {what} could not be removed ({errors[0].code}: {errors[0].key})"
        )
        return Step("orphans", "FAIL", detail, "run it again; if that fails, see the error")
    return Step("orphans", "ok", f"removed {what}")


async def _check_credentials(manager: JupyterS3, steps: list[Step]) -> bool:
    auth = manager.authentication
    provider = auth.credential_provider()
    try:
        creds = await manager.s3.get_credentials()
    except NoCredentialsError as exc:
        searched = "; ".join(exc.searched) if exc.searched else str(exc)
        fix = (
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure a profile "
            "(aws configure / aws sso login) and pass --profile NAME (or set AWS_PROFILE)"
        )
        steps.append(Step("credentials", "FAIL", f"none found ({searched})", fix))
        return False
    except CredentialsError as exc:
        fix = "that source is configured but broken: fix it, or pick another with --profile"
        steps.append(Step("credentials", "FAIL", str(exc), fix))
        return False
    except Exception as exc:  # a custom authentication class failing its own way
        name = type(auth).__name__
        fix = f"check the settings of {name} (c.{name}.*)"
        steps.append(Step("credentials", "FAIL", f"{name}: {type(exc).__name__}: {exc}", fix))
        return False
    source = _credential_source(provider, auth)
    kind = " (temporary)" if creds.session_token else ""
    detail = f"from {source}; access key {_mask(creds.access_key_id)}{kind}"
    steps.append(Step("credentials", "ok", detail))
    return True


def _credential_source(provider: object, auth: object) -> str:
    """Where the credentials came from, as the credential chain names its sources."""
    from s3lite.config import resolve_profile

    # The chain remembers which of its providers answered.
    active = getattr(provider, "active", None)
    label = getattr(active, "label", None) or getattr(provider, "label", None)
    if label == "shared files":
        name, _ = resolve_profile()
        return f"shared files (profile {name!r})"
    if isinstance(label, str) and label != "credential chain":
        return label
    return f"c.JupyterS3.authentication_class = {type(auth).__name__}"


async def _check_endpoint(target: CheckTarget) -> Step:
    host, port = target.host_port()
    started = time.monotonic()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), _CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError) as exc:
        why = "timed out" if isinstance(exc, asyncio.TimeoutError) else (exc.strerror or str(exc))
        fix = (
            "is the server running? check --endpoint-url (c.JupyterS3.endpoint_url), "
            "your network and proxy"
        )
        return Step("endpoint", "FAIL", f"cannot connect to {host}:{port}: {why}", fix)
    writer.close()
    ms = (time.monotonic() - started) * 1000
    return Step("endpoint", "ok", f"{host}:{port} accepts connections ({ms:.0f} ms)")


# -- configuration ---------------------------------------------------------------------------


def load_jupyter_config(config_file: str | None = None) -> Config:
    """The configuration Jupyter Server would load (``jupyter_server_config.*`` on
    Jupyter's config path, or ``config_file``)."""
    from jupyter_server.serverapp import ServerApp

    app = ServerApp(config_file=config_file) if config_file else ServerApp()
    app.load_config_file()
    config: Config = app.config
    return config


def make_manager(config: Config, overrides: Mapping[str, Any] | None = None) -> JupyterS3:
    """A JupyterS3 from ``config`` with trait ``overrides`` (its start-up check off:
    ``run_check`` does a fuller one)."""
    from .manager import JupyterS3

    traits = {k: v for k, v in (overrides or {}).items() if v is not None}
    return JupyterS3(config=config, startup_check=False, **traits)
