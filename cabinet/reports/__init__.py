"""Reports for stock auditors and pharmacists, read from the store without stopping the cabinet.

The UI calls `render(name, conn, params, fmt)` with a read-only connection
(`cabinet.store.open_read_only`), parameters from `params_from(query, now=…, unit=…)`;
the command line is in `cabinet.reports.cli`.
"""

from cabinet.reports.model import Params, Report, ReportError, params_from
from cabinet.reports.registry import FORMATS, REPORTS, ROLES, build, media_type, render

__all__ = [
    "FORMATS",
    "REPORTS",
    "ROLES",
    "Params",
    "Report",
    "ReportError",
    "build",
    "media_type",
    "params_from",
    "render",
]
