"""Exporters: our availability per SKU in a shop's own CSV format, one module a shop.

An exporter only formats: `service.exports.availability` reads the snapshot, the exporter
writes it through `csvsafe` (no cell a spreadsheet would run as a formula). Each format is
written so that our importer for it reads the file back to exactly what we have.
"""
