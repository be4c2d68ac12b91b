"""The worker's private /tmp between jobs: wiping it, and knowing when there is no need.

:func:`wipe` empties that tmpfs whatever a job left there, needing no capability (the
worker shares the job's uid): it never follows a symbolic link (a link is unlinked, its
target untouched); it works through directory descriptors one path component at a time,
moving each directory up to a fresh name directly under the root before emptying it, so
neither depth nor path length matters (no recursion, a constant handful of descriptors);
it chmods the directories it must list or change (mode 000, 0500, ...) as their owner,
unlinks FIFOs, sockets and files of any mode without opening them, tolerates entries that
vanish meanwhile, and returns False when something stays. 8,000 entries take ~40 ms and a
1,500-deep chain ~30 ms on tmpfs here; the bwrap level caps its tmpfs at a few thousand
inodes, which bounds the wipe.

:class:`TmpCheck` tells from the private tmpfs's inode count that a job left no file there,
so the worker can skip the scan-and-delete of :func:`wipe` after most jobs.

Deliberately left out: when to wipe (see :mod:`worker`). Standard library only: loaded
inside the sandbox.
"""

from __future__ import annotations

import errno
import os
from collections import deque
from collections.abc import Sequence
from stat import S_ISDIR

__all__ = ["TmpCheck", "wipe"]


def wipe(root: str, *, keep: Sequence[str] = ()) -> bool:
    """Delete everything under ``root`` but ``keep`` (and the directories leading to it).

    ``root`` itself stays. A kept path is not looked into; of a directory leading to one
    only the other entries go. Symbolic links are unlinked, never followed; directories a
    job made unreadable or unwritable are chmodded (their owner is the worker's uid, or the
    worker is root); depth and path length do not matter (see the module docstring). False
    if something could not be removed (or ``root`` could not be opened).
    """
    kept, leading = _keep_paths(root, keep)
    try:
        root_fd = _open_dir(root, None)
    except OSError:
        return False
    run = _Wipe(root_fd)
    try:
        run.containers(kept, leading)
        run.drain()
    finally:
        os.close(root_fd)
    return run.clean


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_MOVED = ".wipe-"  # prefix of the names directories are moved up to, directly under root
_Path = tuple[str, ...]  # relative to root, one entry a component


def _keep_paths(root: str, keep: Sequence[str]) -> tuple[set[_Path], set[_Path]]:
    """The kept paths under ``root`` and the directories leading to them, as components."""
    prefix = os.path.join(os.path.abspath(root), "")
    kept: set[_Path] = set()
    leading: set[_Path] = set()
    for path in keep:
        full = os.path.abspath(path)
        if full.startswith(prefix) and len(full) > len(prefix):
            parts = tuple(full[len(prefix) :].split(os.sep))
            kept.add(parts)
            leading.update(parts[:index] for index in range(1, len(parts)))
    return kept, leading


def _with_owner_bits(current: int, mode: int | None) -> int:
    return mode if mode is not None else (current & 0o7777) | 0o700


def _open_dir(name: str, dir_fd: int | None, *, mode: int | None = None) -> int:
    """Open the directory ``name`` in ``dir_fd`` (never through a symbolic link), or the
    path ``name`` when ``dir_fd`` is None, and give its owner read, write and search
    permission: chmod it to ``mode``, or add the owner's bits to its mode when None.

    Raises OSError: ELOOP for a link, ENOTDIR for another non-directory, and the like.
    """
    follow = dir_fd is None
    flags = _DIR_FLAGS if follow else _DIR_FLAGS | os.O_NOFOLLOW
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:  # a directory we may not read (a link: ELOOP, a file: ENOTDIR)
        current = os.stat(name, dir_fd=dir_fd, follow_symlinks=follow).st_mode
        if not S_ISDIR(current):
            raise
        # follows a link, but this is a directory (nothing runs that could swap it)
        os.chmod(name, _with_owner_bits(current, mode), dir_fd=dir_fd)
        fd = os.open(name, flags, dir_fd=dir_fd)
    try:
        current = os.fstat(fd).st_mode
        if current & 0o700 != 0o700:  # e.g. 0500: listable but nothing in it removable
            os.fchmod(fd, _with_owner_bits(current, mode))
    except OSError:
        os.close(fd)
        raise
    return fd


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)  # d_type: no system call on tmpfs
    except OSError:
        return False  # unlink tells


class _Wipe:
    """One :func:`wipe`: iterative and through directory descriptors (a few at a time).

    Every directory to delete is moved up to a fresh name directly under the root (unless
    it is there already) and queued; a queued directory is opened, emptied the same way
    (files unlinked, directories moved up and queued) and removed. However deep the tree,
    the work list stays flat and every path is a single component.
    """

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd
        self.clean = True
        self.queue: deque[str] = deque()  # directories directly under root, to delete
        self.taken: set[str] = set()  # names under root that moved directories must avoid
        self.moved = 0

    def containers(self, kept: set[_Path], leading: set[_Path]) -> None:
        """Empty root and the directories leading to kept paths, but for those paths."""
        todo: list[_Path] = [()]
        while todo:
            parts = todo.pop()
            fd = self._open_leading(parts) if parts else self.root_fd
            if fd is None:
                continue
            try:
                entries = self._list(fd)
                if not parts:
                    self.taken.update(name for name, _ in entries)
                    self.taken.update(path[0] for path in kept | leading)
                for name, is_dir in entries:
                    path = (*parts, name)
                    if path in kept:
                        continue
                    if is_dir and path in leading:
                        todo.append(path)
                    else:
                        self._remove(fd, name, is_dir=is_dir, at_root=not parts)
            finally:
                if parts:
                    os.close(fd)

    def drain(self) -> None:
        """Delete the queued directories (and whatever they hold)."""
        while self.queue:
            name = self.queue.popleft()
            try:
                fd = _open_dir(name, self.root_fd, mode=0o700)
            except FileNotFoundError:
                continue
            except OSError as error:
                if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                    self.clean = False
                    continue
                try:  # not a directory after all
                    os.unlink(name, dir_fd=self.root_fd)
                except FileNotFoundError:
                    pass
                except OSError:
                    self.clean = False
                continue
            try:
                for entry, is_dir in self._list(fd):
                    self._remove(fd, entry, is_dir=is_dir, at_root=False)
            finally:
                os.close(fd)
            try:
                os.rmdir(name, dir_fd=self.root_fd)
            except FileNotFoundError:
                pass
            except OSError:
                self.clean = False

    def _open_leading(self, parts: _Path) -> int | None:
        """Open a directory leading to a kept path, one component at a time (no links)."""
        fd = self.root_fd
        try:
            for name in parts:
                parent, fd = fd, _open_dir(name, fd)
                if parent != self.root_fd:
                    os.close(parent)
        except OSError as error:
            if fd != self.root_fd:
                os.close(fd)
            self.clean = self.clean and isinstance(error, FileNotFoundError)
            return None
        return fd

    def _list(self, fd: int) -> list[tuple[str, bool]]:
        """The entries of the directory open as ``fd``: (name, whether a directory)."""
        try:
            with os.scandir(fd) as entries:
                return [(entry.name, _is_dir(entry)) for entry in entries]
        except OSError:
            self.clean = False
            return []

    def _remove(self, fd: int, name: str, *, is_dir: bool, at_root: bool) -> None:
        """Unlink ``name`` in the directory ``fd``, or queue it if a directory."""
        if not is_dir:
            try:
                os.unlink(name, dir_fd=fd)
                return
            except FileNotFoundError:
                return
            except IsADirectoryError:
                pass  # a directory after all
            except OSError:
                self.clean = False
                return
        if at_root:
            self.queue.append(name)
            return
        for attempt in range(2):
            moved = self._fresh()
            try:
                os.rename(name, moved, src_dir_fd=fd, dst_dir_fd=self.root_fd)
            except FileNotFoundError:
                return
            except PermissionError:
                # Moving a directory to another parent rewrites its "..": it must be writable.
                if attempt == 0 and self._chmod_dir(fd, name):
                    continue
                self.clean = False
                return
            except OSError:
                self.clean = False
                return
            self.queue.append(moved)
            return

    def _chmod_dir(self, fd: int, name: str) -> bool:
        """Make the directory ``name`` in ``fd`` the owner's to change; False if not possible."""
        try:
            if not S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                return False
            os.chmod(name, 0o700, dir_fd=fd)  # follows a link, but this is a directory
        except OSError:
            return False
        return True

    def _fresh(self) -> str:
        """A name under root that no entry had and no moved directory has had."""
        while True:
            self.moved += 1
            name = f"{_MOVED}{self.moved}"
            if name not in self.taken:
                return name


class TmpCheck:
    """Whether the private tmpfs at ``root`` holds only its clean state: root and ``jobdir``.

    A cheap test that lets the worker skip the scan-and-delete of :func:`wipe` after most
    jobs. Only sound for a tmpfs that nothing but the jobs writes to and that has no other
    entries a job could remove or rename (such as bind-mount points and their parents):
    pass ``enabled=False`` otherwise. :meth:`reset` must be called while it is clean.
    """

    def __init__(self, root: str, jobdir: str, *, enabled: bool) -> None:
        self.root = root
        self.jobdir = jobdir
        self.enabled = enabled
        self._baseline: int | None = None

    def _inodes(self) -> int | None:
        try:
            stat = os.statvfs(self.root)
        except OSError:
            return None
        return stat.f_files - stat.f_ffree if stat.f_files > 0 else None  # 0: not counted

    def reset(self) -> None:
        """Take the current inode count as the clean state's."""
        self._baseline = self._inodes() if self.enabled else None

    def clear_if_clean(self) -> bool:
        """Remove the empty job directory and return True if nothing else was created.

        Inodes count files, directories, links, and user xattrs (which take inode space on
        tmpfs). Every clean-state inode but the job directory is the tmpfs root, which a
        job cannot remove, so an equal count with the job directory removable as an empty
        directory leaves room for nothing else. False: the caller must :func:`wipe`.
        """
        if self._baseline is None or self._inodes() != self._baseline:
            return False
        try:
            os.rmdir(self.jobdir)
        except OSError:
            return False
        return True
