"""Ctrl-C during ``fit`` stops between two batches, never in the middle of a parameter update.

`deferred_interrupt` turns the first Ctrl-C into a request, which the training loop honours
after the current batch (deeplearner/model/training.py). A second Ctrl-C stops at once.
"""

import signal
import threading
from contextlib import contextmanager


class InterruptRequest:
    """Set to True by the first Ctrl-C inside `deferred_interrupt`."""

    def __init__(self):
        self.requested = False


@contextmanager
def deferred_interrupt():
    """Within the block, a first Ctrl-C only sets ``request.requested``; a second one raises.

    Signal handlers can only be installed from the main thread; elsewhere Ctrl-C raises
    KeyboardInterrupt as usual (and ``fit`` still catches it).
    """
    request = InterruptRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def on_interrupt(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)
