"""``--prompts DIR`` at the edges: the walk stops at the first name outside the built-in layout
(``--prompts ~`` ends at once), links to directories are not followed, links out of DIR and
files that are pipes, devices or too large are refused unread; ``prompts export`` treats a
dangling link as an existing file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from creator.cli.main import main
from creator.errors import ConfigError, InputError
from creator.prompts import PromptSet, load_prompt_dir
from creator.prompts.overlay import MAX_PROMPT_BYTES

BUILTIN = PromptSet.builtin()


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def builtin_text(name: str) -> str:
    return BUILTIN.texts[name]


def test_an_unknown_directory_is_refused_before_it_is_entered(tmp_path):
    write(tmp_path, "creator/creation.md", builtin_text("creator/creation"))
    (tmp_path / "Documents").mkdir()
    (tmp_path / "Documents/loop").symlink_to("..")  # walked with links followed: no end
    (tmp_path / "Documents/pipe").mkdir()
    os.mkfifo(tmp_path / "Documents/pipe/creation.md")
    with pytest.raises(ConfigError) as caught:
        load_prompt_dir(tmp_path)
    assert str(caught.value).startswith(
        f"--prompts {tmp_path}: Documents/ is not a prompt directory of creator"
    )
    with pytest.raises(ConfigError, match=r"^--prompts /: \S+ is not a prompt (file|directory)"):
        load_prompt_dir(Path("/"))  # used to walk the whole file system first
    (tmp_path / "Documents/loop").unlink()
    (tmp_path / "Documents").rename(tmp_path / ".Documents")  # hidden: skipped, not entered
    assert load_prompt_dir(tmp_path).sources == {
        "creator/creation": tmp_path / "creator/creation.md"
    }


def test_a_link_to_a_directory_is_refused_not_followed(tmp_path):
    shared = tmp_path / "shared"
    write(shared, "creation.md", builtin_text("examples/math/creation"))
    mine = tmp_path / "mine"
    (mine / "examples").mkdir(parents=True)
    (mine / "examples/math").symlink_to(shared)
    with pytest.raises(ConfigError) as caught:
        load_prompt_dir(mine)
    assert str(caught.value) == (
        f"--prompts {mine}: examples/math is a link to a directory, which is not followed: "
        "copy the files there instead"
    )
    (mine / "examples/loop").symlink_to("..")  # an unknown name: refused by name, not walked
    with pytest.raises(ConfigError, match="examples/loop/ is not a prompt directory"):
        load_prompt_dir(mine)


def test_a_link_to_a_file_outside_the_directory_is_refused(tmp_path):
    secret = write(tmp_path, "secret.txt", "root:x:0:0:root:/root:/bin/bash\n")
    mine = tmp_path / "mine"
    (mine / "pot").mkdir(parents=True)
    (mine / "pot/system.md").symlink_to(secret)
    with pytest.raises(ConfigError) as caught:
        load_prompt_dir(mine)
    assert str(caught.value) == (
        f"--prompts {mine}: pot/system.md is a link to {secret}, outside {mine}: only files "
        "inside the directory are read"
    )
    (mine / "pot/system.md").unlink()
    kept = write(mine, ".drafts/system.md", "You write programs.\n")  # hidden: skipped
    (mine / "pot/system.md").symlink_to(kept)  # a link inside the directory is read
    assert load_prompt_dir(mine).texts["pot/system"] == "You write programs.\n"


def test_a_prompt_that_is_a_pipe_a_device_or_too_large_is_refused_unread(tmp_path):
    (tmp_path / "pot").mkdir()
    target = tmp_path / "pot/system.md"
    os.mkfifo(target)  # opened for reading, it would block for ever
    with pytest.raises(InputError) as caught:
        load_prompt_dir(tmp_path)
    assert str(caught.value) == (
        f"--prompts {tmp_path}: pot/system.md: not a regular file (a named pipe)"
    )
    target.unlink()
    with target.open("wb") as handle:
        handle.truncate(MAX_PROMPT_BYTES + 1)  # sparse: no disk used, and never read
    with pytest.raises(InputError, match=r"pot/system\.md: the file is 1,048,577 bytes, larger "):
        load_prompt_dir(tmp_path)


def test_prompts_export_refuses_to_replace_a_dangling_link_unless_forced(tmp_path, capsys):
    target = tmp_path / "mine"
    (target / "cot").mkdir(parents=True)
    (target / "cot/system.md").symlink_to(tmp_path / "nowhere.md")
    assert main(["prompts", "export", str(target)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"creator: error: {target} already holds 1 of the 58 prompt files")
    assert (target / "cot/system.md").is_symlink() and not (target / "creator").exists()
    assert main(["prompts", "export", str(target), "--force"]) == 0  # written through the link
    assert (tmp_path / "nowhere.md").read_text() == builtin_text("cot/system")
