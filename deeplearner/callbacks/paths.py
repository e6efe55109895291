"""Where a callback writes: checked in ``on_train_begin``, before an epoch of training is spent.

A checkpoint that cannot be written is better reported before a two-hour run than after it.
Each function raises an error that names the callback, the argument, the path and the fix:

- FileNotFoundError: the folder a file should go in does not exist;
- IsADirectoryError / NotADirectoryError: a folder where a file should be, or the reverse;
- PermissionError: this process may not write there.
"""

import os


def as_path(owner, argument, path):
    """``path`` as a str; a TypeError for anything that is not a str or os.PathLike."""
    # os.path would take an int as a file descriptor, and fail on None with a message about stat().
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{owner}: {argument} must be a str or os.PathLike, received {argument}={path!r}.")
    return os.fspath(path)


def check_file(owner, argument, path, replaced=True):
    """Return ``path`` (a str) if a file can be written there; else raise a clear error.

    ``replaced``: the file is written as a temporary file in its folder and then renamed over
    ``path`` (as ``model.save`` does), so the folder itself must be writable. Without it the
    file is only opened and appended to, which needs the file (if it exists) to be writable.
    """
    path = as_path(owner, argument, path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{owner}: {argument}={path!r} is a directory, where a file should be. "
                                f"Name a file inside it, e.g. {os.path.join(path, 'name')!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{owner}: the folder {folder!r} of {argument}={path!r} does not exist. "
                                f"Create it first, e.g. os.makedirs({folder!r}), or choose another path.")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{owner}: {argument}={path!r} cannot be written: {folder!r} is a file, "
                                 f"not a folder. Choose another path.")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise PermissionError(f"{owner}: {argument}={path!r} cannot be written: this process has no "
                              f"permission to write that file. Change its permissions or choose another path.")
    if (replaced or not os.path.exists(path)) and not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{owner}: {argument}={path!r} cannot be written: this process has no "
                              f"permission to write into the folder {folder!r}. Change its permissions or "
                              f"choose another folder.")
    return path


def check_folder(owner, argument, path):
    """Return ``path`` (a str) as a writable folder, creating it (and its parents) if missing."""
    path = as_path(owner, argument, path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"{owner}: {argument}={path!r} is a file, where a folder should be. "
                                 f"Choose another path, or remove the file.")
    if not os.path.exists(path):
        try:
            os.makedirs(path)
        except OSError as error:   # no permission, a parent that is a file, a read-only disk
            raise type(error)(f"{owner}: the folder {argument}={path!r} does not exist and cannot be "
                              f"created ({error.strerror}). Create it yourself or choose another "
                              f"folder.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{owner}: {argument}={path!r} cannot be written: this process has no "
                              f"permission to write into that folder. Change its permissions or choose "
                              f"another folder.")
    return path
