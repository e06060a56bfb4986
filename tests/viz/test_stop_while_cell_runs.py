"""The Stop button works while the cell that trains is still running, in a real IPython kernel.

The test plays the browser: it waits for the running cell's dashboard, queues another cell,
then sends the comm message a click on Stop sends. The running cell must see the click and
end; the queued cell must run after it, not inside it.
"""

import time

from .conftest import collect_iopub as _collect
from .conftest import stdout_of as _stdout

TRAINING_CELL = """
import time
import workbench.viz as viz
dash = viz.LiveDashboard("stop-test")
print("in_notebook", viz.in_notebook(), "dashboard", dash.model_id, flush=True)
t0 = time.time()
i = 0
while not dash.stop_requested and time.time() - t0 < 60:
    dash.feed({"step": i, "epoch": 0, "wall": time.time(), "split": "train", "values": {"loss": 1.0 / (i + 1)}})
    i += 1
    time.sleep(0.005)
print("stopped", dash.stop_requested, flush=True)
"""


def test_stop_click_reaches_a_running_cell_and_queued_cells_wait_their_turn(kernel):
    kc = kernel
    first = kc.execute(TRAINING_CELL)
    messages = _collect(kc, lambda ms: "dashboard" in _stdout(ms), 60)
    assert "in_notebook True" in _stdout(messages)
    comm_id = _stdout(messages).split("dashboard", 1)[1].split()[0]

    # A cell queued behind the running one, then the click: {"method": "update", "state": {...}}.
    second = kc.execute("print('second cell ran', flush=True)")
    click = kc.session.msg(
        "comm_msg",
        {
            "comm_id": comm_id,
            "data": {"method": "update", "state": {"stop_requested": True}, "buffer_paths": []},
        },
    )
    ack = kc.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "ack", "seq": 1}}}
    )
    kc.shell_channel.send(click)
    kc.shell_channel.send(ack)
    started = time.time()

    def both_done(ms):
        idle = {
            m["parent_header"].get("msg_id")
            for m in ms
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle"
        }
        return first in idle and second in idle

    messages += _collect(kc, both_done, 60)
    out = _stdout(messages)
    assert "stopped True" in out, out
    assert time.time() - started < 20, "the click was only seen after the cell's own 60 s limit"
    assert out.index("stopped True") < out.index("second cell ran"), out
    replies = []
    while len(replies) < 2:  # other replies (a late kernel_info_reply from start-up) are not the cells'
        reply = kc.get_shell_msg(timeout=10)
        if reply["msg_type"] == "execute_reply":
            replies.append(reply)
    assert [r["parent_header"]["msg_id"] for r in replies] == [first, second]
    assert all(r["content"]["status"] == "ok" for r in replies)
