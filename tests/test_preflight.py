"""The preflight tells a broken laptop what is wrong, and exits 1."""

from workshop import preflight


def test_a_failing_required_check_fails_the_preflight(monkeypatch, capsys):
    monkeypatch.setattr(preflight, "SUPPORTED_PYTHON", ((3, 99), (3, 99)))
    assert preflight.main() == 1
    out = capsys.readouterr().out
    assert "[FAIL] Python 3.10 to 3.13" in out and "fix: install Python 3.12" in out


def test_a_missing_package_names_the_fix(monkeypatch):
    monkeypatch.setitem(preflight.MODULES, "no-such-package", "no_such_module")
    failed = [c for c in preflight.check_packages() if c.status == "fail"]
    assert [c.what for c in failed] == ["import no_such_module"]
    assert "rm -rf .venv" in failed[0].fix


def test_missing_optional_programs_only_warn(monkeypatch):
    from workshop import redis_server

    monkeypatch.setattr(redis_server, "find_redis_server", lambda: None)
    check = preflight.check_redis()
    assert check.status == "warn" and check.lines()[0].startswith("[warn] redis-server (lesson 06)")
    assert "apt-get install redis-server" in check.fix


def test_servers_whose_owner_is_gone_are_found_with_the_command_that_stops_them():
    import os
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names nobody: the owner of a stray
    stray = subprocess.Popen(
        [sys.executable, "-c", "import threading; threading.Event().wait()"],
        env={**os.environ, preflight.OWNER_ENV: str(gone.pid)},
    )
    owned = subprocess.Popen(
        [sys.executable, "-c", "import threading; threading.Event().wait()"],
        env={**os.environ, preflight.OWNER_ENV: str(os.getpid())},
    )
    try:
        strays = [pid for pid, _ in preflight.find_strays()]
        assert stray.pid in strays and owned.pid not in strays
        check = preflight.check_strays()
        assert check.status == "warn" and str(stray.pid) in check.detail
        assert check.fix.startswith("stop them: kill ") and str(stray.pid) in check.fix.split()
    finally:
        for process in (stray, owned):
            process.kill()
            process.wait()
    assert stray.pid not in [pid for pid, _ in preflight.find_strays()]


def test_a_server_of_the_kit_is_marked_and_not_a_stray_while_its_owner_lives():
    import sys

    from workshop import serve_process

    with serve_process([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]) as server:
        marked = {pid: owner for pid, owner, _ in preflight._marked_processes()}
        assert server.pid in marked and server.pid not in [pid for pid, _ in preflight.find_strays()]
