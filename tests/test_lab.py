"""JupyterLab as a user meets it (issue 15, item 6): a real Jupyter server opens on
notebooks/00-start-here.ipynb, offers the "Python (pfps_stats)" kernel, and every notebook of
notebooks/ runs through it on that kernel without a cell error.

How it is done:

- The server is ``python -m jupyterlab`` (as ``make lab`` starts it) in a subprocess, on a free
  127.0.0.1 port with a random token, its root a temporary copy of ``notebooks/``, ``docs/``
  and ``README.md``. The kernelspec "pfps-stats" (display name "Python (pfps_stats)", this
  Python) is written by ipykernel's own installer, as ``make lab`` installs it, into a
  temporary folder put first on ``JUPYTER_PATH``; Jupyter's config, data, runtime, settings
  and workspace folders and IPython's are temporary too, so the test writes nothing
  outside its tmp_path.
- Each notebook is opened as JupyterLab opens one: a session (``POST /api/sessions``, kernel
  "pfps-stats", the kernel's working folder the notebook's). Its code cells are sent in order
  as ``execute_request`` messages over the kernel's websocket
  (``/api/kernels/<id>/channels``, the Jupyter message protocol, JSON frames): messages are
  built by jupyter_client's ``Session``, sent with websocket-client (a dependency of
  jupyter_server; neither jupyter_server nor jupyter_client has a client for this channel).
  Each cell's ``execute_reply`` must have status "ok"; the first error stops the notebook and
  its ename, evalue and cell are in the assertion message.
- To keep the runtime in bounds, right after the cell tagged "parameters" a cell sets the
  slow parameters lower, as papermill injects parameters: ``n_boot = 20`` (bootstrap
  replicates), ``m = 5`` and ``max_iter = 5`` (imputation), ``n_sim = 200`` (simulated
  cohorts), each only where the notebook's parameters cell defines it.
- The session (and its kernel) and the server are shut down in ``finally`` blocks and the
  server's fixture, whatever happens.

Skipped, with the reason, when jupyterlab, jupyter_server or websocket-client is not
installed.
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (pip install jupyterlab)")
pytest.importorskip("jupyter_server", reason="jupyter_server is not installed")
websocket = pytest.importorskip(
    "websocket", reason="websocket-client (a jupyter_server dependency) is not installed"
)
from ipykernel.kernelspec import install as install_kernelspec  # noqa: E402
from jupyter_client.jsonutil import json_default  # noqa: E402
from jupyter_client.session import Session  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
START = "notebooks/00-start-here.ipynb"
KERNEL = "pfps-stats"
DISPLAY_NAME = "Python (pfps_stats)"
#: Parameters set lower after each notebook's "parameters" cell, where it defines them.
FAST = {"n_boot": 20, "m": 5, "max_iter": 5, "n_sim": 200}
#: Seconds allowed for the server to answer, and for one cell.
SERVER_START = 90
CELL_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running Jupyter server: its address, token and root, and small REST helpers."""

    def __init__(self, url: str, token: str, root: Path, log: Path):
        self.url, self.token, self.root, self.log = url, token, root, log

    def request(self, method: str, path: str, body: dict | None = None, redirect: bool = True):
        """(status, headers, body text) of an authenticated request to the server."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        handlers = [] if redirect else [_NoRedirect()]
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(req, timeout=60) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode(errors="replace")

    def json(self, method: str, path: str, body: dict | None = None):
        status, _, text = self.request(method, path, body)
        assert status < 300, f"{method} {path}: HTTP {status}: {text[:500]}"
        return json.loads(text) if text else None

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """JupyterLab on a free port, rooted in a copy of notebooks/, docs/ and README.md, with
    the "pfps-stats" kernelspec in a temporary JUPYTER_PATH; stopped at the end."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "project"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("*.py"))
    shutil.copy2(ROOT / "README.md", root / "README.md")
    prefix = tmp / "prefix"
    install_kernelspec(kernel_name=KERNEL, display_name=DISPLAY_NAME, prefix=str(prefix))
    env = {
        **os.environ,
        "JUPYTER_PATH": str(prefix / "share" / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
        "IPYTHONDIR": str(tmp / "ipython"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.default_url=/lab/tree/{START}",
        "--ServerApp.allow_root=True",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    lab = Server(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + SERVER_START
        while True:
            assert process.poll() is None, f"the server exited:\n{lab.log_tail()}"
            try:
                if lab.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (
                f"no answer on /api/status in {SERVER_START} s:\n{lab.log_tail()}"
            )
            time.sleep(0.5)
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_lab_opens_on_the_start_here_notebook_with_the_pfps_stats_kernel(server):
    """``/`` leads to the start-here notebook in JupyterLab, the kernelspec is offered by its
    display name, and the start-here notebook's relative links lead to files the server has."""
    status, headers, _ = server.request("GET", "/", redirect=False)
    assert status in (301, 302), f"GET /: HTTP {status}"
    assert headers["Location"].split("?")[0].endswith(f"/lab/tree/{START}")
    status, _, page = server.request("GET", f"/lab/tree/{START}")
    assert status == 200
    assert "<title>JupyterLab</title>" in page
    assert f'"treePath": "{START}"' in page
    specs = server.json("GET", "/api/kernelspecs")["kernelspecs"]
    assert KERNEL in specs, f"kernelspecs offered: {sorted(specs)}"
    assert specs[KERNEL]["spec"]["display_name"] == DISPLAY_NAME
    model = server.json("GET", f"/api/contents/{START}?content=1")
    assert model["type"] == "notebook"
    text = "\n".join(c["source"] for c in model["content"]["cells"] if c["cell_type"] == "markdown")
    links = [u for u in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in u]
    assert len(links) >= 8, links
    for link in links:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(START), link))
        assert server.request("GET", f"/api/contents/{target}?content=0")[0] == 200, link


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_names_the_pfps_stats_kernel(name):
    """JupyterLab opens each notebook on the "Python (pfps_stats)" kernel (make lab installs
    it); the batch names its kernel itself, so this is for people opening the notebooks."""
    spec = nbformat.read(ROOT / "notebooks" / name, as_version=4).metadata.get("kernelspec", {})
    assert spec.get("name") == KERNEL, f"{name}: kernelspec {spec}"
    assert spec.get("display_name") == DISPLAY_NAME, f"{name}: kernelspec {spec}"


def _cells(name: str) -> list[tuple[str, str]]:
    """(label, code) of each code cell to run, with the fast parameters after the cell tagged
    "parameters"."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        out.append((f"cell {i} ({first[:60]})", cell.source))
        if "parameters" in cell.metadata.get("tags", []):
            defined = {
                t.id
                for node in ast.parse(cell.source).body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            }
            fast = "\n".join(f"{k} = {v!r}" for k, v in FAST.items() if k in defined)
            if fast:
                out.append(("the fast parameters", fast))
    return out


def _execute(ws, session: Session, code: str) -> dict:
    """Run ``code`` on the kernel behind ``ws``; its execute_reply content, with the error
    (ename, evalue) of its iopub error message when there was one."""
    msg = session.msg(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    )
    msg["channel"] = "shell"
    msg["buffers"] = []
    ws.send(json.dumps(msg, default=json_default))
    msg_id = msg["header"]["msg_id"]
    error = None
    while True:
        reply = json.loads(ws.recv())
        if reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if reply["msg_type"] == "error":
            error = reply["content"]
        if reply["channel"] == "shell" and reply["msg_type"] == "execute_reply":
            content = dict(reply["content"])
            if error is not None:
                content.setdefault("ename", error.get("ename"))
                content.setdefault("evalue", error.get("evalue"))
            return content


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_pfps_stats_kernel_through_the_server(server, name):
    """Every code cell of the notebook runs without error on a "pfps-stats" kernel started
    by the server, over the kernel's websocket (slow parameters set lower: module doc)."""
    path = f"notebooks/{name}"
    made = server.json(
        "POST",
        "/api/sessions",
        {"path": path, "name": name, "type": "notebook", "kernel": {"name": KERNEL}},
    )
    assert made["kernel"]["name"] == KERNEL
    kernel_id, session = made["kernel"]["id"], Session(username="test_lab")
    ws = None
    try:
        ws = websocket.create_connection(
            f"{server.url.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
            f"?session_id={uuid.uuid4().hex}",
            header=[f"Authorization: token {server.token}"],
            timeout=CELL_TIMEOUT,
        )
        for label, code in _cells(name):
            reply = _execute(ws, session, code)
            assert reply["status"] == "ok", (
                f"{name}, {label}: {reply.get('ename')}: {reply.get('evalue')}"
            )
    finally:
        if ws is not None:
            ws.close()
        server.request("DELETE", f"/api/sessions/{made['id']}")
