"""The documented install commands, with no package index: pip --target with
--no-index --no-build-isolation, and plain `pip install ./python` in a venv
(build isolation on: the stdlib backend needs nothing from an index). The
installed package carries py.typed and a bundled copy of the library it was
built with (PLCIO_LIBRARY at build time), and uses it without PLCIO_LIBRARY."""

import os
import subprocess
import sys

import pytest

import conftest

PKG_DIR = os.path.join(conftest.SOURCE_DIR, "python")
CHECK = ("import plcio, sys; print(plcio.__version__); print(plcio.library_path()); "
         "print(plcio.S7Client('s7://127.0.0.1:%d').connect().db_read(1, 0, 4).hex())")


def env_without_index(**extra):
    env = conftest.child_env(python=True)
    for k in ("PYTHONPATH", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        env.pop(k, None)
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def run(argv, env, **kw):
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, **kw)
    assert r.returncode == 0, "%s\nstdout:\n%s\nstderr:\n%s" % (argv, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def sim():
    child, port = conftest.start_sim_s7()
    yield port
    child.stop()


def check_installed(python, site, sim, env):
    env = dict(env)
    env.pop("PLCIO_LIBRARY", None)
    out = run([python, "-c", "import plcio; assert plcio.S7Client; " + CHECK % sim], env, cwd="/")
    version, path, data = out.split("\n")[:3]
    assert version == "2.0.0"
    assert path == os.path.join(site, "plcio", "_lib", "libplcio.so.2")
    assert data == "00000000"
    assert os.path.isfile(os.path.join(site, "plcio", "py.typed"))


def test_pip_target_no_index_no_build_isolation(tmp_path, sim):
    target = str(tmp_path / "site")
    env = env_without_index()
    run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "--target", target,
         PKG_DIR], env)
    check_installed(sys.executable, target, sim, dict(env, PYTHONPATH=target))


def test_pip_install_in_venv(tmp_path, sim):
    venv = str(tmp_path / "venv")
    env = env_without_index()
    run([sys.executable, "-m", "venv", venv], env)
    py = os.path.join(venv, "bin", "python")
    run([py, "-m", "pip", "install", "-q", PKG_DIR], env)
    site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env).strip()
    plat = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"], env).strip()
    where = plat if os.path.isdir(os.path.join(plat, "plcio")) else site
    check_installed(py, where, sim, env)
    # and out again
    run([py, "-m", "pip", "uninstall", "-y", "-q", "plcio"], env)
    r = subprocess.run([py, "-c", "import plcio"], env=env, capture_output=True, text=True, cwd="/")
    assert r.returncode != 0 and "No module named 'plcio'" in r.stderr


def test_sdist_and_wheel_build(tmp_path):
    sys.path.insert(0, os.path.join(PKG_DIR, "_build"))
    try:
        import plcio_build
    finally:
        sys.path.pop(0)
    whl = plcio_build.build_wheel(str(tmp_path))
    sdist = plcio_build.build_sdist(str(tmp_path))
    import tarfile
    import zipfile
    names = zipfile.ZipFile(str(tmp_path / whl)).namelist()
    assert "plcio/py.typed" in names and "plcio/_lib/libplcio.so.2" in names
    assert "plcio-2.0.0.dist-info/RECORD" in names
    assert "linux" in whl
    with tarfile.open(str(tmp_path / sdist)) as t:
        tnames = t.getnames()
    assert "plcio-2.0.0/pyproject.toml" in tnames and "plcio-2.0.0/plcio/s7.py" in tnames
    os.makedirs(str(tmp_path / "pure"))
    os.environ["PLCIO_BUNDLE"] = "0"
    try:
        pure = plcio_build.build_wheel(str(tmp_path / "pure"))
    finally:
        del os.environ["PLCIO_BUNDLE"]
    assert pure.endswith("py3-none-any.whl")
    assert "plcio/_lib/libplcio.so.2" not in zipfile.ZipFile(str(tmp_path / "pure" / pure)).namelist()
