"""Folders the process really cannot read, also when the tests run as root (CI does).

Root reads a folder whatever its mode: the capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
skip the permission check. So as root the code under test runs in a forked child that first gives
both up, in its effective, permitted and bounding sets (so that no process it starts gets them
back); it stays uid 0, the owner of the files the test made, and the kernel checks a folder's mode
for it as for any owner: mode 000 is refused. (Switching to `nobody` instead would also lose the
interpreter, which lives under /root.) What the call returns or raises comes back pickled. Run as
another user, the code runs in the test's own process, where the mode already applies.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import pickle
import traceback
from collections.abc import Callable

import pytest

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24
LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def call_denied(function: Callable, *args):
    """function(*args) where a folder of mode 000 cannot be read: as root, in a child without the
    capabilities that override file modes. What it raises is raised here (an AssertionError with its
    traceback when it cannot be pickled)."""
    if os.geteuid() != 0:
        return function(*args)
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_without_overrides, args=(function, args, writer))
    child.start()
    writer.close()
    returned, raised = pickle.loads(reader.recv_bytes())
    child.join(300)
    if isinstance(raised, _CannotDrop):
        pytest.skip(f"running as root, and root reads every folder whatever its mode; the capabilities that let "
                    f"it could not be given up here ({raised}), so no folder can be made unreadable")
    if raised is not None:
        raise raised
    return returned


class _CannotDrop(Exception):
    """The child could not give up the capabilities (no CAP_SETPCAP, or no capset on this system)."""


def _without_overrides(function: Callable, args: tuple, writer) -> None:
    try:
        _drop_file_mode_overrides()
    except _CannotDrop as error:
        outcome = (None, error)
    else:
        try:
            outcome = (function(*args), None)
        except BaseException as error:  # sent back whole: the test asserts on it
            outcome = (None, error)
    try:
        message = pickle.dumps(outcome)
    except Exception:
        message = pickle.dumps((None, AssertionError(f"the child failed:\n{traceback.format_exc()}")))
    writer.send_bytes(message)
    writer.close()


def _drop_file_mode_overrides() -> None:
    """Give up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH for this process and every one it starts."""
    libc = ctypes.CDLL(None, use_errno=True)
    dropped = (1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise _CannotDrop(f"prctl(PR_CAPBSET_DROP): {os.strerror(ctypes.get_errno())}")
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise _CannotDrop(f"capget: {os.strerror(ctypes.get_errno())}")
    data[0].effective &= ~dropped
    data[0].permitted &= ~dropped
    data[0].inheritable &= ~dropped
    if libc.capset(ctypes.byref(header), data) != 0:
        raise _CannotDrop(f"capset: {os.strerror(ctypes.get_errno())}")
