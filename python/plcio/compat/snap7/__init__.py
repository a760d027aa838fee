"""python-snap7's classic client API over plcio (`import plcio.compat.snap7 as snap7`).

Provides snap7.Client / snap7.client.Client, snap7.util (get_/set_ helpers),
snap7.type (Area, Block, WordLen, SrvArea, Parameter) and snap7.error
(S7Error, S7ConnectionError, S7ProtocolError, S7TimeoutError). Every error is
also a plcio.Error (with .code and .text)."""

from . import client, error, type, util  # noqa: A004 - the module names python-snap7 uses
from .client import Client
from .type import Area, Block, SrvArea, WordLen

__all__ = ["Client", "client", "util", "type", "error", "Area", "Block", "WordLen", "SrvArea"]
