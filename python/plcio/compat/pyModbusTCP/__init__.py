"""pyModbusTCP's ModbusClient and utils over plcio (change the import only):

    from plcio.compat.pyModbusTCP.client import ModbusClient   # was: from pyModbusTCP.client import ...
    from plcio.compat.pyModbusTCP import utils                 # was: from pyModbusTCP import utils

Follows the documented pyModbusTCP API (host()/port()/unit_id()/timeout() get
or set; reads return a list or None, writes True or None; last_error() and
last_except() tell why)."""

from . import constants, utils
from .client import ModbusClient

__all__ = ["ModbusClient", "utils", "constants"]
