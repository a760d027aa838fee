"""Drop-in modules for scripts written for other Python PLC libraries: change
the import, keep the script. docs/python.md lists every difference.

    import plcio.compat.snap7 as snap7                          # was: import snap7
    from plcio.compat.pyModbusTCP.client import ModbusClient    # was: from pyModbusTCP.client import ..."""
