"""PEP 517 build backend for the plcio Python package, standard library only.

Why not setuptools: pip builds in an isolated environment and installs the
backend's requirements there from a package index; the machines plcio runs on
reach none, so `python3 -m pip install ./python` would fail before building.
This backend needs nothing (`requires = []`), so the plain command works with
or without --no-build-isolation.

What it builds: a wheel of the plcio package (python/plcio), its version from
plcio/_version.py (kept equal to the C library's by a test), and a copy of the
C library bundled as plcio/_lib/libplcio.so.2 when one is found at build time:
$PLCIO_LIBRARY, else build/libplcio.so.2 of the checkout. PLCIO_BUNDLE=0 builds
without it (the package then uses the installed library: `make install` does so).
"""

import base64
import hashlib
import io
import os
import re
import sysconfig
import tarfile
import time
import zipfile

NAME = "plcio"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/
PKG = os.path.join(ROOT, NAME)
SONAME = "libplcio.so.2"


def _version():
    with open(os.path.join(PKG, "_version.py"), encoding="utf-8") as f:
        m = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    if not m:
        raise RuntimeError("plcio/_version.py has no __version__")
    return m.group(1)


def _library():
    """The C library to bundle, or None."""
    if os.environ.get("PLCIO_BUNDLE", "1") == "0":
        return None
    env = os.environ.get("PLCIO_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise RuntimeError("PLCIO_LIBRARY=%s does not exist" % env)
        return os.path.realpath(env)
    built = os.path.join(os.path.dirname(ROOT), "build", SONAME)
    return os.path.realpath(built) if os.path.isfile(built) else None


def _metadata():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: S7 and Modbus clients and servers, TIA layouts and the plcio sync engine's shared memory\n"
            "License: see the plcio repository\nRequires-Python: >=3.9\n"
            "Description-Content-Type: text/markdown\n\n%s" % (NAME, _version(), readme))


def _files():
    """(archive name, path on disk) of the package."""
    out = []
    for dirpath, dirnames, filenames in os.walk(PKG):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "_lib"))
        for fn in sorted(filenames):
            if fn.endswith((".py", ".typed")):
                full = os.path.join(dirpath, fn)
                out.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return out


def _tag(bundled):
    if not bundled:
        return "py3-none-any"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "py3-none-%s" % plat


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def _write_wheel(wheel_directory, entries, bundled):
    version = _version()
    tag = _tag(bundled)
    distinfo = "%s-%s.dist-info" % (NAME, version)
    filename = "%s-%s-%s.whl" % (NAME, version, tag)
    wheel_meta = "Wheel-Version: 1.0\nGenerator: plcio_build\nRoot-Is-Purelib: %s\nTag: %s\n" % (
        "false" if bundled else "true", tag)
    entries = list(entries) + [(distinfo + "/METADATA", _metadata().encode()),
                               (distinfo + "/WHEEL", wheel_meta.encode()),
                               (distinfo + "/top_level.txt", (NAME + "\n").encode())]
    records = [_record_line(n, d) for n, d in entries] + [distinfo + "/RECORD,,"]
    entries.append((distinfo + "/RECORD", ("\n".join(records) + "\n").encode()))
    path = os.path.join(wheel_directory, filename)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in entries:
            info = zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if n.endswith(".so.2") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, d)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    distinfo = "%s-%s.dist-info" % (NAME, _version())
    os.makedirs(os.path.join(metadata_directory, distinfo), exist_ok=True)
    with open(os.path.join(metadata_directory, distinfo, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return distinfo


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    entries = []
    for name, full in _files():
        with open(full, "rb") as f:
            entries.append((name, f.read()))
    lib = _library()
    if lib:
        with open(lib, "rb") as f:
            entries.append((NAME + "/_lib/" + SONAME, f.read()))
    return _write_wheel(wheel_directory, entries, bool(lib))


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """A wheel holding a .pth file that puts python/ on sys.path."""
    return _write_wheel(wheel_directory, [("plcio-editable.pth", (ROOT + "\n").encode())], False)


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    filename = base + ".tar.gz"
    names = [(n, p) for n, p in _files()]
    for extra in ("pyproject.toml", "README.md", "_build/plcio_build.py"):
        names.append((extra, os.path.join(ROOT, extra)))
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for n, p in names:
            with open(p, "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(base + "/" + n)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size = len(pkg_info)
        t.addfile(info, io.BytesIO(pkg_info))
    return filename
