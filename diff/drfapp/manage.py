#!/usr/bin/env python
"""The faithful rebuild of the original DRF Users API, for diff/run.py."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "drfapp.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
