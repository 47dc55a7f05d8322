"""Reporting: the figures researchers publish and the self-contained HTML/Markdown report.

Reads results (plain dicts and files); imports only the base modules and matplotlib.
"""
