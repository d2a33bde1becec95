"""Exit codes of ``python -m benchmark`` and the errors that map to them (one home for both).

=====  ==============================================================================================
code   meaning
=====  ==============================================================================================
0      success
1      finished, but something needs attention: some pairs failed, fused files are missing from a
       result folder, the checked leaderboard is stale, or a dataset failed validation
2      usage or input error: bad argument or config value, unknown name (with a "did you mean"),
       malformed config file, empty/truncated/unreadable checkpoint file, missing or broken dataset,
       plug-in that cannot be loaded
3      environment error: the file system refused (disk full, read-only or not-a-directory output
       path, permission denied); one ``error:`` line names the path and what to do
130    interrupted (Ctrl-C); finished pairs are kept, rerunning the same command resumes
=====  ==============================================================================================
"""
from __future__ import annotations

import errno
from enum import IntEnum

from ivif_toolbox import UnknownNameError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    ENVIRONMENT = 3
    INTERRUPTED = 130


#: one line per code, for ``--help`` and the README (a test keeps the README in step)
EXIT_CODE_LINES = (
    (ExitCode.OK, "success"),
    (ExitCode.FAILED, "finished, but some pairs failed, fused files are missing, the checked leaderboard is "
                      "stale or a dataset failed validation"),
    (ExitCode.USAGE, "usage or input error: bad argument or config value, unknown name (with a suggestion), "
                     "malformed config file, empty/truncated checkpoint, missing dataset, broken plug-in"),
    (ExitCode.ENVIRONMENT, "environment error: disk full, read-only or not-a-directory path, permission denied "
                           "(one error line naming the path)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C); rerun the same command to resume"),
)


def exit_code_help() -> str:
    return "exit codes:\n" + "\n".join(f"  {int(code):<4} {text}" for code, text in EXIT_CODE_LINES)


class InputError(ValueError):
    """Base of every bad-input error of the harness (exit code 2); the message names the culprit."""


class ConfigError(InputError):
    """An invalid configuration value; the message names the field, what was expected and what arrived."""


class UsageError(InputError):
    """Bad command-line input that is not a config field (exit code 2)."""


#: what to do, by errno, for the environment errors (exit code 3)
_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full: free some space there or write elsewhere",
    errno.EROFS: "the file system is read-only: choose a writable location",
    errno.EACCES: "permission denied: choose a location you can write to or fix its permissions",
    errno.EPERM: "operation not permitted: choose a location you can write to or fix its permissions",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder where a file was expected: choose a file name",
    errno.EEXIST: "the path already exists and is in the way: remove it or choose another path",
    errno.ENAMETOOLONG: "the path is too long: choose a shorter one",
}
if hasattr(errno, "EDQUOT"):
    _ERRNO_HINTS[errno.EDQUOT] = "the disk quota is exceeded: free some space or write elsewhere"


def describe_os_error(exc: OSError) -> str:
    """One line: the path(s), the system's reason and what to do."""
    if exc.errno is None:          # raised by code with a message of its own
        return str(exc)
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    hint = _ERRNO_HINTS.get(exc.errno or 0, "check the path and try again")
    where = " -> ".join(paths) if paths else "(no path reported)"
    name = errno.errorcode.get(exc.errno or -1, "")
    return f"{where}: {reason}{f' ({name})' if name else ''}; {hint}"


def classify(exc: BaseException) -> tuple[ExitCode, str] | None:
    """Exit code and one-line message for an exception the CLI reports without a traceback (None: a bug)."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "interrupted: finished pairs are saved; rerun the same command to resume"
    if isinstance(exc, (InputError, UnknownNameError)):
        return ExitCode.USAGE, f"error: {one_line(str(exc))}"
    if isinstance(exc, OSError):
        return ExitCode.ENVIRONMENT, f"error: {one_line(describe_os_error(exc))}"
    return None


def one_line(text: str) -> str:
    """A message on one line (a library's multi-line text joined with " | ")."""
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


__all__ = ["ExitCode", "EXIT_CODE_LINES", "exit_code_help", "InputError", "ConfigError", "UsageError",
           "describe_os_error", "classify", "one_line"]
