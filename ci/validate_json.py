#!/usr/bin/python3
"""Validates a JSON document against a JSON Schema: validate_json.py SCHEMA DOC.
Prints one line per violation and exits 1 if any (Debian's python3-jsonschema)."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
validator = jsonschema.Draft202012Validator(schema)
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("%s: %s: %s" % (sys.argv[2], "/".join(map(str, e.path)), e.message))
sys.exit(1 if errors else 0)
