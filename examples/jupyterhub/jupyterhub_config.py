"""JupyterHub with every user's notebooks in S3 under ``home/<user>/`` (JupyterS3).

A minimal, local set-up to try it: DummyAuthenticator (any password; for trying,
never for production) for the users in JUPYTERHUB_USERS (default "alice,bob"), and
SimpleLocalProcessSpawner (every user's server runs as the hub's own Unix user).
The single-user servers read ``jupyter_server_config.py`` beside this file.

    JUPYTERS3_BUCKET=my-bucket jupyterhub -f examples/jupyterhub/jupyterhub_config.py

The S3 settings come from the environment (see README.md beside this file) and are
passed on to each user's server; nothing else of the hub's environment is.
"""

import os
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - given by JupyterHub

HERE = Path(__file__).resolve().parent

c.JupyterHub.ip = os.environ.get("JUPYTERHUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("JUPYTERHUB_PORT", "8000"))

c.JupyterHub.authenticator_class = "dummy"  # jupyterhub.auth.DummyAuthenticator
c.Authenticator.allowed_users = set(os.environ.get("JUPYTERHUB_USERS", "alice,bob").split(","))

c.JupyterHub.spawner_class = "simple"  # jupyterhub.spawner.SimpleLocalProcessSpawner
c.Spawner.default_url = os.environ.get("JUPYTERHUB_DEFAULT_URL", "/tree")  # or "/lab"
c.Spawner.args = [f"--config={HERE / 'jupyter_server_config.py'}"]
if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container: the servers run as root too
    c.Spawner.args.append("--allow-root")

# What the single-user servers need to reach S3, and nothing more of the hub's secrets.
FORWARDED = [
    "JUPYTERS3_BUCKET",
    "JUPYTERS3_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
]
c.Spawner.environment = {name: os.environ[name] for name in FORWARDED if name in os.environ}
