"""``ljun users`` and ``ljun audit`` through the CLI."""

from __future__ import annotations

import io

from ljun.store import open_store


def test_users_are_added_listed_and_their_passwords_changed(run_cli, tmp_path, monkeypatch):
    db = tmp_path / "ljun.sqlite"
    open_store(db).close()
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-panjang-1\n"))
    added = run_cli("users", "add", "sari", "--db", db, "--password-stdin")
    assert added.exit_code == 0 and "added sari (operator)" in added.stdout
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-panjang-2\n"))
    assert run_cli("users", "add", "sari", "--db", db, "--password-stdin").exit_code == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("pendek\n"))
    short = run_cli("users", "add", "budi", "--db", db, "--password-stdin")
    assert short.exit_code == 2 and "too short" in short.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO("sandi-panjang-3\n"))
    assert run_cli("users", "passwd", "sari", "--db", db, "--password-stdin").exit_code == 0
    assert run_cli("users", "list", "--db", db).stdout.strip() == "sari\toperator"
    shown = run_cli("audit", "show", "--db", db).stdout
    assert "user_add" in shown and "user_passwd" in shown
    assert run_cli("audit", "verify", "--db", db).exit_code == 0


def test_commands_refuse_a_missing_store(run_cli, tmp_path):
    missing = tmp_path / "nowhere.sqlite"
    for args in (("users", "list"), ("audit", "verify"), ("review",)):
        result = run_cli(*args, "--db", missing)
        assert result.exit_code == 2 and "no such file" in result.stderr
        assert not missing.exists()


def test_review_says_so_when_its_port_is_taken(run_cli, review_store):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("review", "--db", review_store, "--port", port)
    assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
