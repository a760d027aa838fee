"""python-snap7's exception names; each is also a plcio.Error (.code, .text)."""

from ...errors import CONNECTION_CODES, Error

ETIMEDOUT = -10


class S7Error(Error):
    """Base of every error; `error_code` as in python-snap7 (the plcio code here)."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.error_code = code


class S7ConnectionError(S7Error):
    pass


class S7ProtocolError(S7Error):
    pass


class S7TimeoutError(S7Error):
    pass


def translate(e):
    """The python-snap7-named exception for a plcio.Error."""
    if e.code == ETIMEDOUT:
        cls = S7TimeoutError
    elif e.code in CONNECTION_CODES:
        cls = S7ConnectionError
    else:
        cls = S7ProtocolError
    out = cls(e.code, e.text)
    for k in ("error_class", "item_code", "reason", "exception_code"):
        if hasattr(e, k):
            setattr(out, k, getattr(e, k))
    return out
