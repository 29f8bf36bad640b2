"""HTML reports with tables, figures and audio players (plus results.json beside them)."""

from earshot.report.document import Clip, Figure, Section, Table
from earshot.report.html import write_report

__all__ = ["Clip", "Figure", "Section", "Table", "write_report"]
