"""The JSON schema of ``params.yaml``, for editors and validators.

``python -m alien.config.schema > params.schema.json`` writes the copy shipped at
the project root (``params.yaml`` points editors at it; a test keeps it current).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter

from alien.config.params import Params


def params_schema() -> dict[str, Any]:
    """The JSON schema of :class:`~alien.config.params.Params`: every section and key required, no other."""
    schema = TypeAdapter(Params).json_schema()
    for definition in [schema, *schema.get("$defs", {}).values()]:
        definition["required"] = list(definition["properties"])  # params.yaml sets every key
    return schema


def main() -> None:
    """Print the schema as indented JSON."""
    print(json.dumps(params_schema(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
