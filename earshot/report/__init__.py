"""HTML reports with tables, figures and audio players (plus results.json beside them)."""

from earshot.report.document import Clip, Figure, Interval, Section, Table
from earshot.report.html import write_report, write_section
from earshot.report.tables import format_cell, section_markdown, table_json, table_markdown

__all__ = ["Clip", "Figure", "Interval", "Section", "Table", "format_cell", "section_markdown", "table_json",
           "table_markdown", "write_report", "write_section"]
