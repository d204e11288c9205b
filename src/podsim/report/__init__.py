"""The podsim report: presentation only. Every number comes from the model layers.

Each section module has ``build(ctx) -> Section``; :mod:`podsim.report.builder` runs them and writes
an HTML file (inline CSS, figures embedded) and a Markdown file (figures beside it).
"""

from podsim.report.section import Figure, Note, ReportContext, Section, Table, Text

__all__ = ["Figure", "Note", "ReportContext", "Section", "Table", "Text"]
