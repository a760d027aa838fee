"""The package version: the C library's version (CMakeLists.txt project VERSION,
include/plcio/version.h); tests/python_pkg/test_consistency.py keeps them equal."""

__version__ = "2.0.0"
