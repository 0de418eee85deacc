"""The command line: ``main`` parses and dispatches; one module per family of commands.

Argument parsing and printing live here and nowhere else, so every command can be called from
a test without a subprocess, and the stages below never print.
"""
