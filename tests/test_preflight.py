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


def test_missing_optional_programs_only_warn():
    check = preflight.check_program("redis-server (lesson 06)", ["no-such-redis"], "apt-get install redis-server")
    assert check.status == "warn" and check.lines()[0].startswith("[warn]")
