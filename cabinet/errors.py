"""Every exception the cabinet package raises, each saying what went wrong."""


class CabinetError(Exception):
    """Base of the cabinet's own errors."""


class ConfigError(CabinetError):
    """The configuration is invalid; the message names the key, the value and what is allowed."""


class StorageError(CabinetError):
    """The store could not be read or written (disk full, I/O error, corruption)."""


class SchemaTooNew(StorageError):
    """The database was written by a newer version of the code."""


class MovementRefused(CabinetError):
    """A stock movement was refused and nothing was written (for example stock below zero)."""


class LedgerBroken(CabinetError):
    """The ledger chain or a checkpoint does not verify."""
