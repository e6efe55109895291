"""Files written whole or not at all: a crash or Ctrl-C while writing leaves the old file or the new one."""

import os
import secrets


def write_atomically(path, write, who):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    ``save_model`` and ``to_onnx`` both write this way: a crash or Ctrl-C while writing leaves
    the old file or the new one, never half a file, and never the temporary one.
    """
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{who}: the directory {directory!r} does not exist. "
                                f"Create it first, e.g. os.makedirs({directory!r}).")
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as file:   # "x": never overwrite a file that is already there
            write(file)
            file.flush()
            os.fsync(file.fileno())             # the bytes are on disk before the name points at them
        os.replace(temporary, path)             # atomic: readers see the old file or the new one
    except BaseException:                       # Ctrl-C included: never leave the temporary file behind
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
