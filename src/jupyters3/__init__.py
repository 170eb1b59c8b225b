"""jupyters3: a Jupyter contents manager that keeps everything in S3."""
