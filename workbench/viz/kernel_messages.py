"""Handle widget (comm) messages while a notebook cell is still running.

An IPython kernel reads its shell channel only between cells, so a button clicked
while `fit` runs would be seen after training ends. `handle_pending_comm_messages`
takes what has arrived on the kernel's main shell stream, handles the comm
messages (comm_open, comm_msg, comm_close) right away, and hands every other
message (execute requests of queued cells, completions, ...) to the kernel's own
receive callback, in arrival order. The kernel queues those behind the running
cell exactly as if it had read them itself, so queued cells still run after it,
in order.

`jupyter_ui_poll` does this through `kernel.do_one_iteration`, which handles
nothing on ipykernel 7 (its shell messages arrive through a channel thread, and
7.1 removed the method); reading the main shell stream works on ipykernel 6 and
7. JupyterLab may also send widget messages to a kernel subshell (ipykernel 7),
where they are handled on another thread while the cell runs: handlers must not
assume the main thread. Outside a cell of an ipykernel kernel (a terminal, a
script, a comm handler, another thread) this does nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import threading

_COMM_TYPES = frozenset({"comm_open", "comm_msg", "comm_close"})
_log = logging.getLogger(__name__)
_state = {"busy": False, "broken": False}


def running_cell_kernel():
    """The ipykernel kernel whose current cell is running on this thread, else None."""
    if threading.current_thread() is not threading.main_thread() or "IPython" not in sys.modules:
        return None
    shell = sys.modules["IPython"].get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or not hasattr(kernel, "get_parent"):
        return None
    try:
        parent = kernel.get_parent("shell") or {}
    except Exception:  # an ipykernel without per-channel parents
        return None
    return kernel if parent.get("header", {}).get("msg_type") == "execute_request" else None


def _main_shell_stream(kernel):
    """The ZMQStream the main thread reads shell messages from (ipykernel 7 forwards them from a thread)."""
    thread = getattr(kernel, "shell_channel_thread", None)
    if thread is not None:
        return thread.manager._shell_channel_to_main.to_stream
    return kernel.shell_stream


def handle_pending_comm_messages() -> int:
    """Handle comm messages that arrived while the current cell runs; returns how many were handled."""
    kernel = running_cell_kernel()
    if kernel is None or _state["busy"] or _state["broken"]:
        return 0
    _state["busy"] = True
    try:
        return _handle(kernel)
    except Exception:  # an ipykernel whose internals differ: give up quietly, training must go on
        _state["broken"] = True
        _log.debug("Cannot read widget messages while a cell runs in this kernel.", exc_info=True)
        return 0
    finally:
        _state["busy"] = False


def _handle(kernel) -> int:
    import zmq

    stream = _main_shell_stream(kernel)
    forward = getattr(stream, "_recv_callback", None)
    if forward is None:
        return 0
    copy = getattr(stream, "_recv_copy", False)
    arrived: list = []
    stream.on_recv(arrived.append, copy=copy)
    try:
        stream.flush(zmq.POLLIN)
    finally:
        stream.on_recv(forward, copy=copy)
    handled = 0
    for frames in arrived:
        if _msg_type(kernel.session, frames, copy) in _COMM_TYPES:
            _dispatch_comm(kernel, stream, frames, copy)
            handled += 1
        else:
            result = forward(frames)
            if inspect.isawaitable(result):  # ipykernel 7: a task that waits for the running cell
                asyncio.ensure_future(result)
    return handled


def _msg_type(session, frames, copy: bool) -> str | None:
    # Only the header is read: Session.deserialize would record the signature and make the kernel's own,
    # later deserialization of a forwarded message fail as a replay.
    _, parts = session.feed_identities(frames, copy=copy)
    header = parts[1] if copy else parts[1].bytes
    return session.unpack(header).get("msg_type")


def _dispatch_comm(kernel, stream, frames, copy: bool) -> None:
    session = kernel.session
    idents, parts = session.feed_identities(frames, copy=copy)
    msg = session.deserialize(parts, content=True, copy=copy)
    handler = kernel.shell_handlers.get(msg["header"]["msg_type"])
    if handler is None:
        return
    saved_ident, saved_parent = kernel._parent_ident["shell"], kernel.get_parent("shell")
    _flush_output()
    kernel.set_parent(idents, msg, channel="shell")
    try:
        result = handler(stream, idents, msg)
        if inspect.isawaitable(result):
            asyncio.ensure_future(result)
    except Exception:
        kernel.log.error("Exception in a widget message handler while a cell ran:", exc_info=True)
    finally:
        _flush_output()  # what the handler printed belongs to its message, not to the cell
        kernel.set_parent(saved_ident, saved_parent, channel="shell")


def _flush_output() -> None:
    for out in (sys.stdout, sys.stderr):
        if out is not None:
            out.flush()


def call_later(delay: float, fn) -> bool:
    """Run `fn` on the kernel's event loop after `delay` seconds (once the running cell, if any, ends).

    Returns False where there is no kernel event loop (a script, a terminal).
    """
    if "IPython" not in sys.modules:
        return False
    kernel = getattr(sys.modules["IPython"].get_ipython(), "kernel", None)
    loop = getattr(kernel, "io_loop", None)
    if loop is None:
        return False
    loop.add_callback(lambda: loop.call_later(delay, fn))
    return True
