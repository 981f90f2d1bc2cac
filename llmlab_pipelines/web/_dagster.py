"""``llmlab ui``: Dagster's webserver in this process, behind the guard, and its daemon.

What ``dagster dev`` does, with the webserver's Starlette app built here so every request
passes :class:`Guard` first: one code server for the definitions (shared by the webserver
and the daemon), the daemon as a child process, the webserver served by uvicorn. SIGINT and
SIGTERM stop all of them; no child outlives ``llmlab ui``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import FrameType

import dagster as dg

from ._guard import Guard, GuardConfig
from ._procs import descendants, stop

DAEMON_STOP_TIMEOUT = 30.0


class Stopped(Exception):
    """SIGTERM arrived: unwind and stop the children."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


@contextlib.asynccontextmanager
async def _lifespan(app: object) -> AsyncIterator[None]:
    with contextlib.suppress(asyncio.CancelledError):  # uvicorn cancels it on shutdown
        yield


@contextlib.contextmanager
def _code_server(instance: dg.DagsterInstance, module: str) -> Iterator[Path]:
    """One code server for ``module`` and a workspace file pointing at it."""
    import yaml
    from dagster._cli.proxy_server_manager import ProxyServerManager
    from dagster._core.workspace.load_target import ModuleTarget

    target = ModuleTarget(module, None, os.getcwd(), None)
    with (
        ProxyServerManager(instance, target, code_server_log_level="warning") as servers,
        tempfile.TemporaryDirectory(prefix="llmlab-ui-") as folder,
    ):
        workspace = Path(folder) / "workspace.yaml"
        workspace.write_text(yaml.safe_dump({"load_from": servers.get_code_server_specs()}))
        yield workspace


@contextlib.contextmanager
def _daemon(instance: dg.DagsterInstance, workspace: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``dagster-daemon run`` (schedules, sensors, automation, run queue) as a child."""
    from dagster._serdes import serialize_value
    from dagster_shared.ipc import get_ipc_shutdown_pipe, send_ipc_shutdown_message

    read_fd, write_fd = get_ipc_shutdown_pipe()
    command = [sys.executable, "-m", "dagster._daemon", "run", "--log-level", "warning"]
    process = subprocess.Popen(
        [
            *command,
            *("--shutdown-pipe", str(read_fd), "--workspace", str(workspace)),
            *("--instance-ref", serialize_value(instance.get_ref())),
        ],
        pass_fds=[read_fd],
    )
    os.close(read_fd)
    try:
        yield process
    finally:
        with contextlib.suppress(OSError):
            send_ipc_shutdown_message(write_fd)
        try:
            process.wait(timeout=DAEMON_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_dagster_ui(
    config: GuardConfig,
    *,
    module: str = "llmlab_pipelines.definitions",
    echo: Callable[[str], None] = print,
) -> int:
    """Serve the Dagster UI on ``config.host:config.port`` until SIGINT or SIGTERM.

    Args:
        config: The bound address and what the guard lets through.
        module: The module holding the Dagster definitions.
        echo: Where status lines and refused requests go.
    """
    import uvicorn
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget
    from dagster_webserver.app import create_app_from_workspace_process_context
    from dagster_webserver.version import __version__

    os.environ["DAGSTER_IS_DEV_CLI"] = "1"  # as `dagster dev`: code locations reload in dev
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    children = []
    try:
        with contextlib.ExitStack() as stack:
            instance = stack.enter_context(dg.DagsterInstance.get())
            workspace = stack.enter_context(_code_server(instance, module))
            stack.enter_context(_daemon(instance, workspace))
            context = stack.enter_context(
                WorkspaceProcessContext(
                    instance,
                    WorkspaceFileTarget([str(workspace)]),
                    version=__version__,
                    code_server_log_level="warning",
                )
            )
            app = create_app_from_workspace_process_context(context, lifespan=_lifespan)
            guarded = Guard(app, config, on_refuse=lambda reason: echo(f"llmlab ui: {reason}"))
            server = uvicorn.Server(
                uvicorn.Config(guarded, host=config.host, port=config.port, log_level="warning")
            )
            echo(f"Dagster UI on http://{_display(config.host)}:{config.port} (Ctrl-C stops it)")
            try:
                server.run()  # returns on SIGINT/SIGTERM, then re-raises the signal here
            finally:
                children = descendants(os.getpid())  # before a stopped parent orphans them
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop([*children, *descendants(os.getpid())])  # anything a graceful stop left behind
    echo("llmlab ui: stopped")
    return 0


def _display(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
