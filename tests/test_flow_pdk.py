"""PDK discovery order, the error naming every place looked at, and the dont-use filter."""

from pathlib import Path

import pytest

from flow.liberty import filter_liberty_text
from flow.pdk import CORNERS, Pdk, PdkError, find_pdk, is_dont_use, read_cell_list


def make_pdk(root: Path) -> Path:
    """A fake open_pdks root holding just the tt liberty file (all that discovery checks)."""
    lib = root / "sky130A" / "libs.ref" / "sky130_fd_sc_hd" / "lib"
    lib.mkdir(parents=True)
    (lib / "sky130_fd_sc_hd__tt_025C_1v80.lib").write_text("library (x) { }\n")
    return root


def test_pdk_root_env_wins(tmp_path):
    env_root = make_pdk(tmp_path / "env")
    repo = tmp_path / "ws" / "repo"
    make_pdk(tmp_path / "ws" / "shared" / "pdk")
    repo.mkdir(parents=True)
    pdk = find_pdk(env={"PDK_ROOT": str(env_root)}, repo_root=repo, home=tmp_path / "home")
    assert pdk.root == env_root.resolve() and pdk.source == "$PDK_ROOT"
    assert pdk.liberty("ss").name == f"sky130_fd_sc_hd__{CORNERS['ss']}.lib"


def test_shared_pdk_next_to_repo(tmp_path):
    repo = tmp_path / "ws" / "repo"
    repo.mkdir(parents=True)
    shared = make_pdk(tmp_path / "ws" / "shared" / "pdk")
    pdk = find_pdk(env={}, repo_root=repo, home=tmp_path / "home")
    assert pdk.root == shared.resolve()


def test_volare_versions_folder(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    v = make_pdk(tmp_path / "home" / ".volare" / "sky130" / "versions" / "abc123")
    pdk = find_pdk(env={}, repo_root=repo, home=tmp_path / "home")
    assert pdk.root == v.resolve() and pdk.source == "~/.volare"


def test_nothing_found_names_every_place(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    with pytest.raises(PdkError) as e:
        find_pdk(env={}, repo_root=repo, home=tmp_path / "home")
    msg = str(e.value)
    assert "shared/pdk" in msg and ".ciel" in msg and ".volare" in msg and "PDK_ROOT" in msg


def test_bad_pdk_root_is_an_error_not_a_fallback(tmp_path):
    repo = tmp_path / "ws" / "repo"
    repo.mkdir(parents=True)
    make_pdk(tmp_path / "ws" / "shared" / "pdk")
    with pytest.raises(PdkError, match="PDK_ROOT="):
        find_pdk(env={"PDK_ROOT": str(tmp_path / "nope")}, repo_root=repo, home=tmp_path)


def test_unknown_corner():
    with pytest.raises(PdkError, match="unknown corner"):
        Pdk(Path("/x"), "test").liberty("slow")


def test_dont_use_patterns_and_extra_list(tmp_path):
    assert is_dont_use("sky130_fd_sc_hd__lpflow_inputiso0n_1")
    assert is_dont_use("sky130_fd_sc_hd__dlygate4sd3_1")
    assert is_dont_use("sky130_fd_sc_hd__probe_p_8")
    assert is_dont_use("sky130_fd_sc_hd__and2_0")
    assert not is_dont_use("sky130_fd_sc_hd__nand2_1")
    assert not is_dont_use("sky130_fd_sc_hd__dfxtp_1")
    f = tmp_path / "bad.txt"
    f.write_text("# router cannot reach these\nsky130_fd_sc_hd__dfxtp_1\n\nsky130_fd_sc_hd__a31o_2  # trailing\n")
    extra = read_cell_list(f)
    assert extra == ("sky130_fd_sc_hd__dfxtp_1", "sky130_fd_sc_hd__a31o_2")
    assert is_dont_use("sky130_fd_sc_hd__dfxtp_1", extra=extra)


def test_filter_liberty_text_drops_whole_cells():
    text = (
        'library (l) {\n  cell ("keep_1") {\n    pin (A) { direction : input; }\n  }\n'
        '  cell ("drop_1") {\n    pin (A) { internal_power () { rise_power (t) { values ("1"); } } }\n  }\n'
        '  cell (keep_2) { area : 1; }\n}\n'
    )
    out, dropped = filter_liberty_text(text, lambda c: c.startswith("drop"))
    assert dropped == ["drop_1"]
    assert "drop_1" not in out and 'cell ("keep_1")' in out and "cell (keep_2)" in out
    assert out.count("{") == out.count("}")


def test_derived_liberty_follows_content_not_timestamps(tmp_path):
    """A PDK copied again (same bytes, new mtime, other folder) keeps the derived liberty, so no result goes stale;
    other bytes give another derived file."""
    import os

    from flow.pdk import derived_liberty

    text = 'library (x) {\n  cell ("sky130_fd_sc_hd__inv_2") { area : 3.75 ; }\n}\n'
    a, b = make_pdk(tmp_path / "a"), make_pdk(tmp_path / "b")
    for root in (a, b):
        (root / "sky130A/libs.ref/sky130_fd_sc_hd/lib/sky130_fd_sc_hd__tt_025C_1v80.lib").write_text(text)
    first = derived_liberty(find_pdk(env={"PDK_ROOT": str(a)}), "tt", tmp_path / "build")
    lib_b = b / "sky130A/libs.ref/sky130_fd_sc_hd/lib/sky130_fd_sc_hd__tt_025C_1v80.lib"
    os.utime(lib_b, ns=(1, 10**18))
    assert derived_liberty(find_pdk(env={"PDK_ROOT": str(b)}), "tt", tmp_path / "build") == first
    lib_b.write_text(text.replace("3.75", "3.76"))
    assert derived_liberty(find_pdk(env={"PDK_ROOT": str(b)}), "tt", tmp_path / "build") != first


def test_derived_liberty_path_names_the_file_without_writing_it(tmp_path):
    """What a stage's inputs() may call: the derived liberty's path, nothing written; derived_liberty then writes it."""
    from flow.pdk import derived_liberty, derived_liberty_path

    a = make_pdk(tmp_path / "a")
    (a / "sky130A/libs.ref/sky130_fd_sc_hd/lib/sky130_fd_sc_hd__tt_025C_1v80.lib").write_text(
        'library (x) {\n  cell ("sky130_fd_sc_hd__inv_2") { area : 3.75 ; }\n}\n')
    pdk = find_pdk(env={"PDK_ROOT": str(a)})
    path = derived_liberty_path(pdk, "tt", tmp_path / "build", ("sky130_fd_sc_hd__inv_1",))
    assert not (tmp_path / "build").exists()
    assert derived_liberty(pdk, "tt", tmp_path / "build", ("sky130_fd_sc_hd__inv_1",)) == path and path.is_file()
