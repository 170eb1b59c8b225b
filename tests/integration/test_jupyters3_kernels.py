"""Kernels see the same files as the file browser: a real Jupyter server on JupyterS3
(moto, signatures checked) starts real ipykernel kernels through /api/sessions; cells
run over the kernel's websocket use jupyters3.files, jupyters3:// through pandas, and
the IPython extension, and the contents API sees what they wrote."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.test_jupyters3_server import Jupyter, server_env, serving
from tests.kernelclient import Kernel
from tests.motoserver import MotoServer


@dataclass
class KernelServer:
    jupyter: Jupyter
    root: Path
    server_secret: str
    sessions: list[str] = field(default_factory=list)

    def start(self, path: str) -> Kernel:
        """A kernel for the notebook at ``path``, started as Notebook 7 starts one."""
        name = path.rsplit("/", 1)[-1]
        status, session, _ = self.jupyter.call(
            "POST",
            "/api/sessions",
            {"path": path, "name": name, "type": "notebook", "kernel": {"name": "python3"}},
        )
        assert status == 201, session
        self.sessions.append(session["id"])
        return Kernel.connect(self.jupyter.url, self.jupyter.token, session["kernel"]["id"])


@pytest.fixture(scope="module")
def server(
    moto_auth: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KernelServer]:
    """The server uses static keys from its config; its kernels get other keys, from
    the environment (the AWS chain), and must never see the server's."""
    bucket = f"kernels-{uuid.uuid4().hex[:12]}"
    moto_auth.boto3_client().create_bucket(Bucket=bucket)
    kernel_key_id, kernel_secret = moto_auth.new_access_key()
    root = tmp_path_factory.mktemp("kernel-root")
    env = server_env(root)
    for name in list(env):
        if name.startswith(("AWS_", "RGW_")):  # RGW_*: a running gateway's keys, if named
            del env[name]
    env.update(
        AWS_ACCESS_KEY_ID=kernel_key_id,
        AWS_SECRET_ACCESS_KEY=kernel_secret,
        AWS_CONFIG_FILE=str(root / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(root / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        JUPYTERS3_CWD="stale/value",  # the server's own environment must not leak through
    )
    with serving(moto_auth, root, bucket, env=env) as jupyter:
        kernels = KernelServer(jupyter, root, moto_auth.secret_access_key)
        try:
            yield kernels
        finally:
            for session_id in kernels.sessions:
                with contextlib.suppress(OSError):
                    jupyter.call("DELETE", f"/api/sessions/{session_id}")
    server_log = (root / "server.log").read_text(errors="replace")
    assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture(scope="module")
def root_kernel(server: KernelServer) -> Iterator[Kernel]:
    kernel = server.start("nb.ipynb")
    yield kernel
    kernel.close()


@pytest.fixture(scope="module")
def sub_kernel(server: KernelServer) -> Iterator[Kernel]:
    """The kernel of a notebook in a folder that exists only in S3."""
    server.jupyter.contents("PUT", "sub", {"type": "directory"})
    server.jupyter.contents("PUT", "sub/deeper", {"type": "directory"})
    kernel = server.start("sub/deeper/nb.ipynb")
    yield kernel
    kernel.close()


def names(server: KernelServer, folder: str = "") -> set[str]:
    status, listing, _ = server.jupyter.contents("GET", folder)
    assert status == 200, listing
    return {m["name"] for m in listing["content"]}


def test_a_cell_writes_a_file_the_file_browser_lists(
    server: KernelServer, root_kernel: Kernel
) -> None:
    root_kernel.ok("from jupyters3 import files\nfiles.write_text('out.csv', 'a,b\\n1,2\\n')")
    assert "out.csv" in names(server)
    status, model, _ = server.jupyter.contents("GET", "out.csv", query="?type=file&format=text")
    assert status == 200 and model["content"] == "a,b\n1,2\n"


def test_a_cell_reads_a_file_uploaded_through_the_api(
    server: KernelServer, root_kernel: Kernel
) -> None:
    body = {"type": "file", "format": "text", "content": "uploaded ✓"}
    assert server.jupyter.contents("PUT", "uploaded.txt", body)[0] == 201
    printed = root_kernel.ok("from jupyters3 import files\nprint(files.read_text('uploaded.txt'))")
    assert printed == "uploaded ✓\n"
    printed = root_kernel.ok("with files.open('uploaded.txt', 'rb') as f: print(f.read(8))")
    assert printed == "b'uploaded'\n"


def test_the_kernel_knows_where_it_is(server: KernelServer, sub_kernel: Kernel) -> None:
    printed = sub_kernel.ok(
        "import os, json\n"
        "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('JUPYTERS3_')}))\n"
        "print(os.getcwd())"
    )
    env_line, cwd_line = printed.splitlines()
    env = json.loads(env_line)
    jupyter = server.jupyter
    assert env["JUPYTERS3_BUCKET"] == jupyter.bucket
    assert env["JUPYTERS3_PREFIX"] == "users/alice/"
    assert env["JUPYTERS3_CWD"] == "sub/deeper"
    assert env["JUPYTERS3_ENDPOINT_URL"] == jupyter.moto.endpoint_url
    assert env["JUPYTERS3_REGION"] == "us-east-1"
    # the folder exists only in S3: the kernel runs in the server's root_dir
    assert Path(cwd_line) == server.root


def test_the_kernel_never_gets_the_servers_keys(server: KernelServer, sub_kernel: Kernel) -> None:
    printed = sub_kernel.ok("import os\nprint(repr(list(os.environ.values())))")
    assert server.server_secret not in printed


def test_relative_paths_from_a_notebook_in_a_folder(
    server: KernelServer, sub_kernel: Kernel
) -> None:
    server.jupyter.contents(
        "PUT", "sub/deeper/in.txt", {"type": "file", "format": "text", "content": "in"}
    )
    printed = sub_kernel.ok(
        "from jupyters3 import files\n"
        "files.write_text('here.txt', files.read_text('in.txt') + '!')\n"
        "files.write_text('../up.txt', 'up')\n"
        "print(files.getcwd(), 'here.txt' in files.listdir(), files.listdir('..'))"
    )
    assert printed == "/sub/deeper True ['deeper', 'up.txt']\n"
    assert {"here.txt", "in.txt"} <= names(server, "sub/deeper")
    assert "up.txt" in names(server, "sub")
    _, model, _ = server.jupyter.contents("GET", "sub/deeper/here.txt", query="?format=text")
    assert model["content"] == "in!"


def test_a_path_escaping_the_prefix_is_refused_in_the_kernel(
    server: KernelServer, sub_kernel: Kernel
) -> None:
    outcome = sub_kernel.run(
        "from jupyters3 import files\nfiles.write_text('../../../escape.txt', 'x')"
    )
    assert outcome.error is not None
    assert outcome.error[0] == "PathError" and "outside the root" in outcome.error[1]
    keys = [
        o["Key"]
        for o in server.jupyter.moto.boto3_client()
        .list_objects_v2(Bucket=server.jupyter.bucket)
        .get("Contents", [])
    ]
    assert all(k.startswith("users/alice/") for k in keys) and "escape" not in "".join(keys)


def test_pandas_through_the_fsspec_filesystem(server: KernelServer, sub_kernel: Kernel) -> None:
    csv = "city,population\nLagos,15400000\nOslo,709000\n"
    server.jupyter.contents(
        "PUT", "sub/deeper/cities.csv", {"type": "file", "format": "text", "content": csv}
    )
    printed = sub_kernel.ok(
        "import pandas as pd\n"
        "df = pd.read_csv('jupyters3://cities.csv')\n"
        "print(int(df.population.sum()))\n"
        "df[df.population > 1_000_000].to_csv('jupyters3://big.csv', index=False)\n"
        "print(pd.read_csv('jupyters3:///sub/deeper/big.csv').city.tolist())"
    )
    assert printed == "16109000\n['Lagos']\n"
    _, model, _ = server.jupyter.contents("GET", "sub/deeper/big.csv", query="?format=text")
    assert model["content"] == "city,population\nLagos,15400000\n"


def test_the_ipython_extension(server: KernelServer, sub_kernel: Kernel) -> None:
    server.jupyter.contents(
        "PUT", "sub/deeper/listed.txt", {"type": "file", "format": "text", "content": ""}
    )
    sub_kernel.ok("%load_ext jupyters3")
    assert "listed.txt\n" in sub_kernel.ok("%s3ls")
    assert "sub/" in sub_kernel.ok("%s3ls /").splitlines()
    assert sub_kernel.ok("%s3cd ..") == "/sub\n"
    assert "deeper/\n" in sub_kernel.ok("%s3ls")
    assert (
        sub_kernel.ok(
            "from jupyters3 import files\nprint(files.read_text('deeper/listed.txt') == '')"
        )
        == "True\n"
    )
    outcome = sub_kernel.run("%s3cd /nowhere")
    assert "UsageError: %s3cd: [Errno 2] No such folder (s3://" in outcome.stderr
    assert sub_kernel.ok("%s3cd") == "/sub/deeper\n"  # back to the notebook's folder
    assert sub_kernel.ok("%s3pwd").startswith("/sub/deeper  (s3://")


def test_a_moved_notebook_gets_its_new_folder_at_the_next_restart(server: KernelServer) -> None:
    jupyter = server.jupyter
    kernel = server.start("before/nb.ipynb")
    cwd = "import os\nprint(os.environ['JUPYTERS3_CWD'])"
    try:
        assert kernel.ok(cwd) == "before\n"
        session_id = server.sessions[-1]
        status, session, _ = jupyter.call(
            "PATCH", f"/api/sessions/{session_id}", {"path": "after/deeper/nb.ipynb"}
        )
        assert status == 200, session
        assert jupyter.call("POST", f"/api/kernels/{session['kernel']['id']}/restart")[0] == 200
    finally:
        kernel.close()
    kernel = Kernel.connect(jupyter.url, jupyter.token, session["kernel"]["id"])
    try:
        assert kernel.ok(cwd) == "after/deeper\n"
    finally:
        kernel.close()


def readme_example() -> str:
    """The first code block of the README's "From your notebook's code" section."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From your notebook's code", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_as_written(server: KernelServer) -> None:
    kernel = server.start("readme/nb.ipynb")
    try:
        printed = kernel.ok(readme_example())
    finally:
        kernel.close()
    url = f"s3://{server.jupyter.bucket}/users/alice/readme/results/summary.txt"
    assert printed == f"['cities.csv']\ncity,population\n\n['results/summary.txt'] {url}\n"
    assert names(server, "readme") == {"cities.csv"}  # the summary was removed again
