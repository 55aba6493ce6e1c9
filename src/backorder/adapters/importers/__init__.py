"""Importers: one module a file format; `csvstream` is what they share.

A parser reads a file one row at a time and yields items for `service.imports`; it never
touches the database. `csvstream.apply_all` applies the items and tallies the outcome.
"""
