"""Error codes (the same numbers and names as plcio_err in include/plcio/core.h)
and the exceptions of this package."""

# (code, name, message): PLCIO_ERRNO_MAP of include/plcio/core.h, in order.
_ERRNO_MAP = (
    (0, "OK", "success"),
    (-1, "EINVAL", "invalid argument"),
    (-2, "ENOMEM", "out of memory"),
    (-3, "ERANGE", "value out of range"),
    (-4, "ETYPE", "wrong or unsupported data type"),
    (-5, "ESYNTAX", "syntax error"),
    (-6, "EAGAIN", "incomplete: more bytes are needed"),
    (-7, "ENOSPC", "buffer too small"),
    (-8, "EPROTO", "malformed or unexpected protocol data"),
    (-9, "ECRC", "checksum mismatch"),
    (-10, "ETIMEDOUT", "timed out"),
    (-11, "ECONNREFUSED", "connection refused"),
    (-12, "ECLOSED", "connection closed by peer"),
    (-13, "ENOTCONN", "not connected"),
    (-14, "EIO", "input/output error"),
    (-15, "ENOTFOUND", "not found"),
    (-16, "EEXIST", "already exists"),
    (-17, "EUNSUPPORTED", "not supported"),
    (-18, "EBUSY", "busy"),
    (-19, "EPLC", "the PLC rejected the request"),
    (-20, "EMBEXC", "the Modbus device answered with an exception"),
    (-21, "EACCESS", "access denied"),
    (-22, "ESTATE", "not allowed in the current state"),
    (-23, "ECANCELED", "canceled"),
    (-24, "ERESOLVE", "host name could not be resolved"),
    (-25, "ELIMIT", "limit reached"),
    (-26, "EOPTIMIZED", "data block uses optimized access; absolute addresses do not exist"),
    (-27, "EINTERNAL", "internal error"),
)

_BY_CODE = {code: ("PLCIO_" + name, text) for code, name, text in _ERRNO_MAP}

OK = 0
EINVAL = -1
ERANGE = -3
ESYNTAX = -5
EAGAIN = -6
ENOSPC = -7
EPROTO = -8
ETIMEDOUT = -10
ECLOSED = -12
ENOTCONN = -13
EIO = -14
ENOTFOUND = -15
EUNSUPPORTED = -17
EBUSY = -18
EACCESS = -21
ELIMIT = -25


def err_name(code):
    """Symbolic name of an error code ("PLCIO_ETIMEDOUT"); "PLCIO_UNKNOWN" if unknown."""
    return _BY_CODE.get(code, ("PLCIO_UNKNOWN", ""))[0]


def strerror(code):
    """Text of an error code, as plcio_strerror(); "unknown error" if unknown."""
    return _BY_CODE.get(code, ("", "unknown error"))[1]


class Error(Exception):
    """Every error of this package. `code` is the plcio_err number, `name` its
    symbolic name ("PLCIO_EPROTO"), `text` (also `message`) says what went wrong,
    in the C library's words when the C library raised it."""

    def __init__(self, code, message):
        self.code = code
        self.name = err_name(code)
        self.message = message
        super().__init__("%s: %s" % (self.name, message))

    @property
    def text(self):
        return self.message


class PLCError(Error):
    """The PLC refused a request (PLCIO_EPLC). `error_class` and `error_code` are
    the S7 header error (0 if none: then `item_code` holds the data item's return
    code, 0xFF for success), `reason` the PLC's reason in words."""

    def __init__(self, code, message, s7_error=0, item_code=0xFF, reason=""):
        super().__init__(code, message)
        self.error_class = (s7_error >> 8) & 0xFF
        self.error_code = s7_error & 0xFF
        self.item_code = item_code
        self.reason = reason


class ModbusException(Error):
    """The Modbus device answered with an exception (PLCIO_EMBEXC);
    `exception_code` is its code (2 = illegal data address, ...)."""

    def __init__(self, code, message, exception_code=0):
        super().__init__(code, message)
        self.exception_code = exception_code


class ConnectionFailed(Error, ConnectionError):
    """The link could not be opened or broke (refused, closed, timed out, not connected)."""


CONNECTION_CODES = frozenset((-10, -11, -12, -13, -14, -24))


class SegmentNotFound(Error):
    """No segment of that name (no engine runs, or another name)."""


class SegmentInitialising(Error):
    """The engine is still creating the segment: try again shortly."""


class CorruptSegment(Error):
    """Not a plcio segment, or its header, directory or a buffer is inconsistent."""


class UnsupportedVersion(Error):
    """The segment has another format version or byte order."""


class SegmentClosed(Error):
    """The engine closed the segment, replaced it, or died: reopen()."""


class UnknownTag(Error, KeyError):
    """No tag of that name in the segment's directory."""

    def __str__(self):
        return Error.__str__(self)
