"""Validates JSON documents against one of the repo's JSON Schemas (docs/schema/).

usage: validate-json.py SCHEMA FILE...   (each FILE holds one JSON document per line)
Exit 0 when every document is valid; prints each invalid one with the reason and exits 1.
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
bad = 0
count = 0
for path in sys.argv[2:]:
    for n, line in enumerate(open(path), 1):
        if not line.strip():
            continue
        count += 1
        doc = json.loads(line)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            bad += 1
            print(f"{path}:{n}: invalid: {errors[0].message} at {list(errors[0].path)}")
print(f"{count - bad} valid, {bad} invalid")
sys.exit(1 if bad else 0)
