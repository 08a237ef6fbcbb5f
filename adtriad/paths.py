"""Default locations, and reading a user's text file with an error a person can act on
(shared by the configuration, the scenario loader and the engine; kept import-light).

``read_user_text(path)`` returns the file's text or raises ``UnreadableFile`` whose message
names the path (and, for bytes that are not UTF-8, the line) and says what to do; callers
re-raise it as their own error type.
"""

from pathlib import Path

DEFAULT_CACHE_DIR = "~/.cache/adtriad"


class UnreadableFile(ValueError):
    """A user's file that cannot be read as UTF-8 text; the message says why and where."""


def read_user_text(path: str | Path) -> str:
    path = Path(path)
    if path.is_dir():
        raise UnreadableFile(f"{path}: a directory, not a file; give the file's path")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile(f"{path}: no such file") from None
    except OSError as err:
        raise UnreadableFile(f"{path}: cannot read it ({err.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise UnreadableFile(f"{path}:{line}:{column}: not UTF-8 text (byte "
                             f"0x{data[err.start]:02x}); save the file as UTF-8") from None
