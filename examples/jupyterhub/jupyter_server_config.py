"""Each user's Jupyter server under JupyterHub: everything in S3 under home/<user>/.

JupyterHub sets JUPYTERHUB_USER; the bucket (and, for MinIO, Ceph and the like, the
endpoint) come from JUPYTERS3_BUCKET and JUPYTERS3_ENDPOINT_URL; credentials from
the usual AWS chain (environment, profile, instance or container role).
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - given by Jupyter

c.ServerApp.contents_manager_class = "jupyters3.JupyterS3"
c.JupyterS3.aws_s3_bucket = os.environ["JUPYTERS3_BUCKET"]
c.JupyterS3.endpoint_url = os.environ.get("JUPYTERS3_ENDPOINT_URL", "")
c.JupyterS3.prefix = f"home/{os.environ['JUPYTERHUB_USER']}/"
c.JupyterS3.always_delete_dir = True
